// deploy/rbac.yaml against what ipamd actually asked the stand-in: each request as "group|resource|verb".
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parsePath } from './resources.js';
import type { RequestRecord } from './server.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
const RBAC = resolve(import.meta.dirname, '../../../deploy/rbac.yaml');

/** Every (group, resource, verb) the ClusterRole of `file` (default deploy/rbac.yaml) grants. */
export function allowedByRbac(file = RBAC): string[] {
  const rules = parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as { kind: string; rules?: Rule[] })
    .find((d) => d.kind === 'ClusterRole')!.rules!;
  return [
    ...new Set(
      rules.flatMap((r) =>
        r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}|${res}|${v}`))),
      ),
    ),
  ].sort();
}

const verbOf = (method: string, named: boolean) =>
  method === 'WATCH'
    ? 'watch'
    : method === 'GET'
      ? named
        ? 'get'
        : 'list'
      : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[
          method
        ]!;

/** The distinct (group, resource, verb) of the requests. */
export function usedBy(requests: readonly RequestRecord[]): string[] {
  return [
    ...new Set(
      requests.map((r) => {
        const t = parsePath(r.path)!;
        return `${t.def.group}|${t.def.plural}|${verbOf(r.method, t.name !== undefined)}`;
      }),
    ),
  ].sort();
}
