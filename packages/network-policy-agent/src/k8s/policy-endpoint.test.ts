import { describe, expect, it } from 'vitest';
import { parsePolicyEndpoint } from './policy-endpoint.js';

const obj = (podSelector: unknown) => ({
  metadata: { name: 'web-policy-abcde', namespace: 'shop' },
  spec: {
    policyRef: { name: 'web-policy', namespace: 'shop' },
    podSelector,
    podIsolation: ['Ingress'],
    podSelectorEndpoints: [],
    ingress: [{ cidr: '10.0.0.1/32' }],
  },
});

describe('parsePolicyEndpoint: podSelector (strict mode’s held directions)', () => {
  it('keeps matchLabels and matchExpressions', () => {
    const pe = parsePolicyEndpoint(
      obj({
        matchLabels: { role: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a'] },
          { key: 'x', operator: 'Exists' },
        ],
      }),
    );
    expect('error' in pe ? pe.error : pe.podSelector).toEqual({
      matchLabels: { role: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a'] },
        { key: 'x', operator: 'Exists' },
      ],
    });
  });

  it('an empty selector (every pod of the namespace) is kept; an absent one stays absent', () => {
    const empty = parsePolicyEndpoint(obj({}));
    expect('error' in empty ? empty.error : empty.podSelector).toEqual({});
    const none = parsePolicyEndpoint(obj(undefined));
    expect('error' in none ? none.error : 'podSelector' in none).toBe(false);
  });

  it('an unreadable selector is ignored; the rules are still taken', () => {
    const pe = parsePolicyEndpoint(obj({ matchLabels: { role: 7 } }));
    if ('error' in pe) throw new Error(pe.error);
    expect(pe.podSelector).toBeUndefined();
    expect(pe.ingress).toEqual([{ cidr: '10.0.0.1/32' }]);
  });
});
