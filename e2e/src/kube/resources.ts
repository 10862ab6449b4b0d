// What the stand-in serves: the core resources ipamd and the harness use, and the VPC CNI's CRDs.
export interface ResourceDef {
  group: string; // '' = core
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const RESOURCES: ResourceDef[] = [
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  // What network-policy-controller watches and its leader election uses.
  {
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    kind: 'NetworkPolicy',
    namespaced: true,
  },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  {
    group: 'crd.k8s.amazonaws.com',
    version: 'v1alpha1',
    plural: 'eniconfigs',
    kind: 'ENIConfig',
    namespaced: false,
  },
  // CNINode: upstream's group is vpcresources.k8s.aws; an issue named networking.k8s.aws; both are served.
  {
    group: 'vpcresources.k8s.aws',
    version: 'v1alpha1',
    plural: 'cninodes',
    kind: 'CNINode',
    namespaced: false,
  },
  {
    group: 'networking.k8s.aws',
    version: 'v1alpha1',
    plural: 'cninodes',
    kind: 'CNINode',
    namespaced: false,
  },
  {
    group: 'vpcresources.k8s.aws',
    version: 'v1beta1',
    plural: 'securitygrouppolicies',
    kind: 'SecurityGroupPolicy',
    namespaced: true,
  },
  // Network policy: what the controller writes and aws-network-policy-agent watches.
  {
    group: 'networking.k8s.aws',
    version: 'v1alpha1',
    plural: 'policyendpoints',
    kind: 'PolicyEndpoint',
    namespaced: true,
  },
  {
    group: 'networking.k8s.aws',
    version: 'v1alpha1',
    plural: 'clusterpolicyendpoints',
    kind: 'ClusterPolicyEndpoint',
    namespaced: false,
  },
];

export const apiVersionOf = (r: ResourceDef): string => (r.group ? `${r.group}/${r.version}` : r.version);
/** Store key of a resource (events of both groups share one store key per group). */
export const storeKey = (r: ResourceDef): string => `${r.group}/${r.plural}`;

export interface Target {
  def: ResourceDef;
  namespace?: string;
  name?: string;
}

/** /api/v1/[namespaces/{ns}/]{plural}[/{name}[/status]] and /apis/{group}/{version}/... */
export function parsePath(path: string): Target | undefined {
  const segs = path.split('/').filter(Boolean);
  let group = '';
  let rest: string[];
  if (segs[0] === 'api' && segs[1] === 'v1') rest = segs.slice(2);
  else if (segs[0] === 'apis' && segs.length >= 3) {
    group = segs[1]!;
    rest = segs.slice(3);
  } else return undefined;
  const version = segs[0] === 'api' ? 'v1' : segs[2]!;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const def = RESOURCES.find((r) => r.group === group && r.version === version && r.plural === rest[0]);
  if (!def) return undefined;
  return { def, ...(namespace ? { namespace } : {}), ...(rest[1] ? { name: rest[1] } : {}) };
}
