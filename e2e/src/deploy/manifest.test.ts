// deploy/aws-k8s-cni.yaml against the sources of truth: the config table (both ways), the CRD files, the RBAC
// rules ipamd is checked against (deploy/rbac.yaml), and the programs the image carries.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { programNames } from '@vpc-cni/ipamd/programs';
import { type Component, variables, type Variable } from '@vpc-cni/shared/config';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = resolve(import.meta.dirname, '../../..');
const load = (path: string): Record<string, unknown>[] =>
  parseAllDocuments(readFileSync(resolve(root, path), 'utf8'))
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => d !== null);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Probe {
  exec?: { command: string[] };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: EnvVar[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  initContainers: Container[];
  containers: Container[];
  volumes: { name: string; hostPath?: { path: string } }[];
  priorityClassName: string;
  hostNetwork: boolean;
  tolerations: unknown[];
  serviceAccountName: string;
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const docs = load('deploy/aws-k8s-cni.yaml');
const byKind = (kind: string) => docs.filter((d) => d['kind'] === kind);
const ds = byKind('DaemonSet')[0] as {
  metadata: { name: string; namespace: string };
  spec: Record<string, unknown>;
};
const pod = (ds.spec['template'] as { spec: PodSpec }).spec;
const container = (name: string): Container => {
  const c = [...pod.initContainers, ...pod.containers].find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
};
const table = new Map<string, Variable<unknown>>(
  Object.values(variables).map((v: Variable<unknown>) => [v.name, v]),
);
/** Which programs read the env of each of our containers. */
const readers: Record<string, Component[]> = {
  'aws-vpc-cni-init': ['init'],
  'aws-node': ['ipamd', 'entrypoint'],
};

describe('deploy/aws-k8s-cni.yaml', () => {
  it('is the aws-node DaemonSet upstream ships: names, priority, host network, tolerations, rolling update', () => {
    expect(ds.metadata).toMatchObject({ name: 'aws-node', namespace: 'kube-system' });
    expect(pod).toMatchObject({
      priorityClassName: 'system-node-critical',
      hostNetwork: true,
      serviceAccountName: 'aws-node',
      tolerations: [{ operator: 'Exists' }],
    });
    expect(ds.spec['updateStrategy']).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: '10%' },
    });
    expect(pod.initContainers.map((c) => c.name)).toEqual(['aws-vpc-cni-init']);
    expect(pod.containers.map((c) => c.name)).toEqual(['aws-node', 'aws-network-policy-agent']);
    const cm = byKind('ConfigMap')[0] as { metadata: { name: string; namespace: string } };
    expect(cm.metadata).toEqual(
      expect.objectContaining({ name: 'amazon-vpc-cni', namespace: 'kube-system' }),
    );
  });

  it('every variable it sets exists in the config table, is read by that container, and is valid', () => {
    let checked = 0;
    for (const [name, components] of Object.entries(readers)) {
      for (const e of container(name).env ?? []) {
        const v = table.get(e.name);
        expect(v, `${name}: ${e.name} is not in the config table`).toBeDefined();
        const readBy = (v as Variable<unknown>).readBy;
        expect(
          readBy.some((c) => components.includes(c)),
          `${name}: ${e.name} is read by ${readBy.join(', ')}, not by this container`,
        ).toBe(true);
        if (e.value !== undefined)
          expect(() => (v as Variable<unknown>).parse(e.value as string), e.name).not.toThrow();
        else expect(e.valueFrom, `${e.name} has neither value nor valueFrom`).toBeDefined();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("each value it sets is the table's manifest default (or the code default), and each manifest default is set", () => {
    const set = new Map<string, string>();
    for (const name of Object.keys(readers))
      for (const e of container(name).env ?? []) if (e.value !== undefined) set.set(e.name, e.value);
    for (const [name, value] of set) {
      const v = table.get(name) as Variable<unknown>;
      if (v.manifest !== undefined) expect(value, name).toBe(v.manifest);
      else expect(v.parse(value), `${name}=${value} differs from the code default`).toEqual(v.default);
    }
    const manifestDefaults = [...table.values()].filter((v) => v.manifest !== undefined);
    expect(manifestDefaults.length).toBeGreaterThan(3);
    for (const v of manifestDefaults)
      expect(set.get(v.name), `${v.name} not set in the manifest`).toBe(v.manifest);
  });

  it('every command and exec probe names a program of the image', () => {
    const inImage = new Set(['aws-cni', 'egress-cni', ...programNames()]);
    const commands: string[][] = [];
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.command, `${c.name} has no command`).toBeDefined();
      commands.push(c.command as string[]);
      for (const p of [c.livenessProbe, c.readinessProbe]) if (p?.exec) commands.push(p.exec.command);
    }
    expect(commands.length).toBe(5);
    for (const cmd of commands) {
      const exe = cmd[0] as string;
      expect(exe, cmd.join(' ')).toMatch(/^\/app\//);
      expect(inImage.has(exe.slice('/app/'.length)), `${exe} is not in the image`).toBe(true);
    }
    const version = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')).version as string;
    for (const c of [...pod.initContainers, ...pod.containers])
      expect(c.image).toBe(`localhost/vpc-cni-ts:${version}`);
  });

  it('probes ask the socket ipamd serves on', () => {
    const aws = container('aws-node');
    for (const p of [aws.livenessProbe, aws.readinessProbe])
      expect(p?.exec?.command).toContain(`-addr=unix://${variables.VPC_CNI_IPAMD_SOCKET.default}`);
    expect(aws.volumeMounts).toContainEqual({ mountPath: '/var/run/aws-node', name: 'run-dir' });
  });

  it('every volume mount is a hostPath volume of the pod', () => {
    const vols = new Map(pod.volumes.map((v) => [v.name, v]));
    for (const c of [...pod.initContainers, ...pod.containers])
      for (const m of c.volumeMounts ?? [])
        expect(vols.get(m.name)?.hostPath, `${c.name}: ${m.name}`).toBeDefined();
  });

  it('carries the CRD files of deploy/crds unchanged', () => {
    const crds = byKind('CustomResourceDefinition');
    const names = crds.map((c) => (c['metadata'] as { name: string }).name).sort();
    expect(names).toEqual([
      'cninodes.vpcresources.k8s.aws',
      'eniconfigs.crd.k8s.amazonaws.com',
      'policyendpoints.networking.k8s.aws',
      'securitygrouppolicies.vpcresources.k8s.aws',
    ]);
    for (const crd of crds) {
      const plural = (crd['spec'] as { names: { plural: string } }).names.plural;
      const file = load(`deploy/crds/${plural}.yaml`)[0];
      expect(
        isDeepStrictEqual(crd, file),
        `deploy/crds/${plural}.yaml differs from the manifest's copy`,
      ).toBe(true);
    }
  });

  it("RBAC: deploy/rbac.yaml's rules for ipamd plus only the policy agent's PolicyEndpoint reads", () => {
    const rulesOf = (d: Record<string, unknown>[]) =>
      (d.find((x) => x['kind'] === 'ClusterRole') as { rules: Rule[] }).rules;
    const ipamd = rulesOf(load('deploy/rbac.yaml'));
    const shipped = rulesOf(docs);
    for (const r of ipamd) expect(shipped).toContainEqual(r);
    const extra = shipped.filter((r) => !ipamd.some((i) => isDeepStrictEqual(i, r)));
    expect(extra).toEqual([
      { apiGroups: ['networking.k8s.aws'], resources: ['policyendpoints'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['networking.k8s.aws'], resources: ['policyendpoints/status'], verbs: ['get'] },
    ]);
    const binding = byKind('ClusterRoleBinding')[0] as { subjects: unknown[] };
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'aws-node', namespace: 'kube-system' },
    ]);
  });

  it('the daemons request at least the memory measured for them (bench/README.md "Footprint"), with no limits', () => {
    const readme = readFileSync(resolve(root, 'bench/README.md'), 'utf8');
    const current = /Current: `(\{"ipamd_rss_mib".*?\})`/s.exec(readme)?.[1];
    expect(current, 'bench/README.md has no "Current: `{...}`" footprint line').toBeDefined();
    const measured = JSON.parse((current as string).replace(/\s+/g, '')) as Record<string, number>;
    const mib = (q: string | undefined): number => {
      const m = /^(\d+)Mi$/.exec(q ?? '');
      expect(m, `memory request "${q}" is not in Mi`).not.toBeNull();
      return Number((m as RegExpExecArray)[1]);
    };
    for (const [name, rss] of [
      ['aws-node', measured['ipamd_rss_mib']],
      ['aws-network-policy-agent', measured['agent_rss_mib']],
    ] as const) {
      const r = container(name).resources;
      expect(rss, `no measurement for ${name}`).toBeGreaterThan(0);
      expect(mib(r?.requests?.['memory']), name).toBeGreaterThanOrEqual(Math.ceil(rss as number));
      expect(r?.requests?.['cpu'], name).toBe('25m');
      expect(r?.limits, `${name}: a limit would let the kernel kill node networking`).toBeUndefined();
    }
  });
});
