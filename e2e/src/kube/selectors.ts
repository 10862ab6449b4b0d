// List/watch filters: labelSelector (equality: k=v, k==v, k!=v, k, !k) and fieldSelector (metadata.name,
// metadata.namespace, spec.nodeName, status.phase), comma-separated conjunctions.
import type { Obj } from './store.js';
import { KubeError } from './store.js';

type Pred = (o: Obj) => boolean;

export function labelSelector(sel: string | null): Pred {
  if (!sel) return () => true;
  const preds: Pred[] = sel.split(',').map((term) => {
    const labels = (o: Obj) => (o.metadata['labels'] ?? {}) as Record<string, string>;
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(\S*)\s*$/.exec(term);
    if (m) {
      const [, k, op, v] = m as unknown as [string, string, string, string];
      return op === '!=' ? (o) => labels(o)[k] !== v : (o) => labels(o)[k] === v;
    }
    const t = term.trim();
    if (t.startsWith('!')) return (o) => !(t.slice(1) in labels(o));
    if (/^[\w./-]+$/.test(t)) return (o) => t in labels(o);
    throw new KubeError(400, 'BadRequest', `unable to parse requirement: ${term}`);
  });
  return (o) => preds.every((p) => p(o));
}

const FIELDS: Record<string, (o: Obj) => unknown> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace,
  'spec.nodeName': (o) => (o['spec'] as Record<string, unknown> | undefined)?.['nodeName'] ?? '',
  'status.phase': (o) => (o['status'] as Record<string, unknown> | undefined)?.['phase'] ?? '',
};

export function fieldSelector(sel: string | null): Pred {
  if (!sel) return () => true;
  const preds: Pred[] = sel.split(',').map((term) => {
    const m = /^\s*([\w.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    const get = m ? FIELDS[m[1]!] : undefined;
    if (!m || !get) throw new KubeError(400, 'BadRequest', `field label not supported: ${term}`);
    return m[2] === '!=' ? (o) => String(get(o)) !== m[3] : (o) => String(get(o)) === m[3];
  });
  return (o) => preds.every((p) => p(o));
}
