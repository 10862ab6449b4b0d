// The three patch types kubectl and client-node send: JSON merge patch (RFC 7386), strategic merge patch (treated
// as a merge patch except that `$patch: delete` and `$retainKeys` are not supported: not needed for labels,
// annotations and the fields ipamd touches), and JSON patch (RFC 6902: add, remove, replace, test, move, copy).
import { KubeError } from './store.js';

type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return patch;
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const unescape = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');

function parentOf(doc: Json, path: string): { parent: Record<string, Json> | Json[]; key: string } {
  const parts = path.split('/').slice(1).map(unescape);
  const key = parts.pop();
  if (key === undefined) throw new KubeError(422, 'Invalid', `bad JSON patch path "${path}"`);
  let cur: Json = doc;
  for (const p of parts) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObj(cur) ? cur[p] : undefined;
    if (cur === undefined) throw new KubeError(422, 'Invalid', `JSON patch path "${path}" does not exist`);
  }
  if (!isObj(cur) && !Array.isArray(cur))
    throw new KubeError(422, 'Invalid', `JSON patch path "${path}" is not a container`);
  return { parent: cur, key };
}

function getAt(doc: Json, path: string): Json {
  const { parent, key } = parentOf(doc, path);
  return Array.isArray(parent) ? parent[Number(key)] : parent[key];
}

export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops))
    throw new KubeError(400, 'BadRequest', 'JSON patch must be an array of operations');
  const out = structuredClone(doc);
  for (const op of ops as { op: string; path: string; value?: Json; from?: string }[]) {
    const { parent, key } = parentOf(out, op.path);
    const set = (v: Json) => {
      if (Array.isArray(parent)) {
        if (key === '-') parent.push(v);
        else if (op.op === 'add') parent.splice(Number(key), 0, v);
        else parent[Number(key)] = v;
      } else parent[key] = v;
    };
    switch (op.op) {
      case 'add':
      case 'replace':
        if (op.op === 'replace' && getAt(out, op.path) === undefined)
          throw new KubeError(422, 'Invalid', `replace: "${op.path}" does not exist`);
        set(structuredClone(op.value));
        break;
      case 'remove':
        if (getAt(out, op.path) === undefined)
          throw new KubeError(422, 'Invalid', `remove: "${op.path}" does not exist`);
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete parent[key];
        break;
      case 'test':
        if (JSON.stringify(getAt(out, op.path)) !== JSON.stringify(op.value))
          throw new KubeError(422, 'Invalid', `test failed at "${op.path}"`);
        break;
      case 'copy':
      case 'move': {
        const v = structuredClone(getAt(out, op.from ?? ''));
        if (op.op === 'move') {
          const f = parentOf(out, op.from ?? '');
          if (Array.isArray(f.parent)) f.parent.splice(Number(f.key), 1);
          else delete f.parent[f.key];
        }
        set(v);
        break;
      }
      default:
        throw new KubeError(400, 'BadRequest', `unknown JSON patch op "${op.op}"`);
    }
  }
  return out;
}

export function applyPatch(doc: Json, contentType: string, body: Json): Json {
  const ct = contentType.split(';')[0]!.trim();
  if (ct === 'application/json-patch+json') return jsonPatch(doc, body);
  if (ct === 'application/merge-patch+json' || ct === 'application/strategic-merge-patch+json')
    return mergePatch(doc, body);
  throw new KubeError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
  );
}
