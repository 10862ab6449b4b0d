// CHECK: compare the kernel state with prevResult and report the first mismatch precisely (CNI spec CHECK).
import { CniCode, CniError } from '../cni/errors.js';
import type { CniEnv, K8sArgs } from '../cni/env.js';
import { parseK8sArgs } from '../cni/env.js';
import type { NetConf } from '../cni/netconf.js';
import { parseResult, type CniResult } from '../cni/result.js';
import { containerIfName, dummyIfName, vlanLinkName } from '../names.js';
import { familyOf, MAIN_TABLE, normaliseTable } from '../plan/ops.js';
import type { Deps } from './deps.js';

/** What CHECK reads from the kernel (gathered by the executor side). */
export interface KernelView {
  podAddrs(ifName: string): string[] | undefined;
  podDefaultGw(ifName: string, family: 4 | 6): string | undefined;
  hostLinkExists(name: string): boolean;
  /** Device of `<ip>` in `table` of the host, if a route exists. */
  hostRouteDev(ip: string, table: number): string | undefined;
  /** True iff host link `hostIf` is a veth whose peer is `contIf` in the pod netns (the pair is this pod's). */
  vethPairOwned(hostIf: string, contIf: string): boolean;
  hostRules(family: 4 | 6): { priority: number; src?: string; dst?: string; iif?: string; table: number }[];
}

const mismatch = (msg: string, details: string) => new CniError(CniCode.Internal, `CHECK: ${msg}`, details);
const bare = (cidr: string) => cidr.replace(/\/\d+$/, '');

/** Pure comparison; throws the first mismatch. */
export function verify(prev: CniResult, env: CniEnv, k8s: K8sArgs, k: KernelView): void {
  // Indexed once so a prevResult of any size is checked in linear time.
  const byName = new Map<string, number>();
  prev.interfaces.forEach((iface, i) => {
    if (!byName.has(iface.name)) byName.set(iface.name, i);
  });
  const ipsByIface = new Map<number, string[]>();
  for (const ip of prev.ips) {
    if (ip.interface === undefined) continue;
    const list = ipsByIface.get(ip.interface) ?? [];
    if (list.length === 0) ipsByIface.set(ip.interface, list);
    list.push(bare(ip.address));
  }
  const dummyIdx = byName.get(dummyIfName(k8s.K8S_POD_NAMESPACE, k8s.K8S_POD_NAME));
  const dummy = dummyIdx === undefined ? undefined : prev.interfaces[dummyIdx];
  const vlan = Number(dummy?.mac ?? '0');
  const n = Math.max(1, Math.floor((prev.interfaces.length - 1) / 2));
  for (let a = 0; a < n; a++) {
    const contIf = containerIfName(env.ifName, a);
    const idx = byName.get(contIf) ?? -1;
    if (idx < 0)
      throw mismatch(
        `prevResult has no interface ${contIf}`,
        'the runtime passed a result from another plugin',
      );
    const hostIf = prev.interfaces[idx - 1]?.name ?? '';
    const ips = ipsByIface.get(idx) ?? [];
    const addrs = k.podAddrs(contIf);
    if (!addrs)
      throw mismatch(
        `interface ${contIf} is missing in ${env.netns}`,
        'delete and re-create the pod sandbox',
      );
    for (const ip of ips) {
      const fam = familyOf(ip);
      if (!addrs.includes(ip))
        throw mismatch(`address ${ip} is missing on ${contIf}`, `found: ${addrs.join(', ') || 'none'}`);
      const gw = fam === 4 ? `169.254.1.${a + 1}` : `fe80::${(a + 1).toString(16)}`;
      if (k.podDefaultGw(contIf, fam) !== gw)
        throw mismatch(`default route via ${gw} dev ${contIf} is missing`, 'the pod has no egress');
      if (!k.hostLinkExists(hostIf))
        throw mismatch(`host veth ${hostIf} is missing`, 'delete and re-create the pod sandbox');
      const rules = k.hostRules(fam);
      if (vlan > 0) {
        const t = 100 + vlan;
        if (!k.hostLinkExists(vlanLinkName(vlan)))
          throw mismatch(`VLAN link ${vlanLinkName(vlan)} is missing`, 'check the trunk ENI');
        const inMain = k.hostRouteDev(ip, MAIN_TABLE) === hostIf;
        const inBranch = k.hostRouteDev(ip, t) === hostIf;
        if (!inMain && !inBranch)
          throw mismatch(`host route ${ip} dev ${hostIf} is missing`, `looked in tables main and ${t}`);
        continue;
      }
      if (k.hostRouteDev(ip, MAIN_TABLE) !== hostIf)
        throw mismatch(
          `host route ${ip} dev ${hostIf} is missing in table main`,
          'traffic to the pod cannot reach it',
        );
      if (!rules.some((r) => r.priority === 512 && r.dst === ip && r.table === MAIN_TABLE)) {
        throw mismatch(
          `rule 512: to ${ip} lookup main is missing`,
          'traffic to the pod may leave by an ENI table',
        );
      }
      const table = normaliseTable(Number(prev.interfaces[idx]?.mac ?? MAIN_TABLE));
      if (
        table !== MAIN_TABLE &&
        !rules.some((r) => r.priority === 1536 && r.src === ip && r.table === table)
      ) {
        throw mismatch(
          `rule 1536: from ${ip} lookup ${table} is missing`,
          'pod egress would leave by the wrong ENI',
        );
      }
    }
  }
}

export async function cmdCheck(
  env: CniEnv,
  conf: NetConf,
  deps: Deps,
  view: () => Promise<KernelView>,
): Promise<void> {
  if (!conf.prevResult) {
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      'CHECK needs prevResult',
      'the runtime must pass the ADD result',
    );
  }
  const prev = parseResult(conf.prevResult, conf.cniVersion);
  deps.logger.info({ containerId: env.containerId }, 'CHECK');
  verify(prev, env, parseK8sArgs(env.args), await view());
}
