// Kubernetes label-selector semantics, shared by every component that matches selectors.
import type { LabelSelector } from './policy-endpoint.js';

/** matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); unknown operators match nothing. */
export function selectorMatches(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value ?? '')
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value ?? '')
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}
