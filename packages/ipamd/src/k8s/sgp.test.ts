// Label selectors as Kubernetes evaluates them, for SecurityGroupPolicy matching.
import { describe, expect, it } from 'vitest';
import { selectorMatches } from './sgp.js';

describe('selectorMatches', () => {
  const labels = { role: 'test-role', tier: 'web' };
  it('matchLabels: every pair must be present; an empty selector matches everything', () => {
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { role: 'test-role' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { role: 'test-role', tier: 'db' } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { team: 'x' } }, {})).toBe(false);
  });
  it('matchExpressions: In, NotIn, Exists, DoesNotExist; unknown operators match nothing', () => {
    const m = (operator: string, values?: string[]) =>
      selectorMatches(
        { matchExpressions: [{ key: 'tier', operator, ...(values ? { values } : {}) }] },
        labels,
      );
    expect(m('In', ['web', 'api'])).toBe(true);
    expect(m('In', ['db'])).toBe(false);
    expect(m('NotIn', ['db'])).toBe(true);
    expect(m('NotIn', ['web'])).toBe(false);
    expect(m('Exists')).toBe(true);
    expect(m('DoesNotExist')).toBe(false);
    expect(m('Gt', ['1'])).toBe(false);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['x'] }] }, labels),
    ).toBe(true);
  });
});
