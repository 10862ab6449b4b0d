// The ENIConfig name for a node (docs/architecture.md#custom-networking): external label, then annotation,
// then label, then "default".
import { describe, expect, it } from 'vitest';
import { EXTERNAL_LABEL, eniConfigName } from './eniconfig.js';

const ANN = 'k8s.amazonaws.com/eniConfig';
const LABEL = 'example.com/zone-config';

describe('eniConfigName', () => {
  it.each([
    [{}, 'default'],
    [{ labels: { [LABEL]: 'from-label' } }, 'from-label'],
    [{ labels: { [LABEL]: 'from-label' }, annotations: { [ANN]: 'from-annotation' } }, 'from-annotation'],
    [
      {
        labels: { [LABEL]: 'from-label', [EXTERNAL_LABEL]: 'external' },
        annotations: { [ANN]: 'from-annotation' },
      },
      'external',
    ],
    [{ labels: { [LABEL]: '' }, annotations: { [ANN]: '' } }, 'default'],
  ])('%j → %s', (node, want) => {
    expect(eniConfigName(node, ANN, LABEL)).toBe(want);
  });
});
