// egress-cni ADD / DEL / CHECK: reserve the egress address, apply the plan (rolled back and the address released
// on any failure), tear down on DEL (idempotent, also without a netns), verify on CHECK.
import type { Logger } from '@vpc-cni/shared/logging';
import { parseCidr } from '@vpc-cni/shared/ipmath';
import { CniCode, CniError, asCniError } from '../cni/errors.js';
import type { CniEnv } from '../cni/env.js';
import { type CniResult, formatResult, parseResult } from '../cni/result.js';
import type { EgressConf, EgressIpamConf } from './conf.js';
import type { EgressExecutor } from './exec.js';
import { type IpamRange, ipamRange } from './ipam.js';
import {
  type EgressOp,
  egressIfName,
  egressRollback,
  isGlobalUnicast6,
  planEgressAdd,
  planEgressDel,
  snatOp,
} from './plan.js';
import { checkProblems, type EgressObservation } from './check.js';

/** The reservation store (host-local's format; see ipam.ts). */
export interface EgressIpam {
  reserve(id: string, ifName: string, range: IpamRange): string;
  release(id: string, ifName: string): string[];
  find(id: string, ifName: string): string | undefined;
}

export interface EgressDeps {
  readonly logger: Logger;
  executor(): Promise<EgressExecutor>;
  ipam(dataDir: string, network: string): EgressIpam;
  randomMac(): string;
  /** `veth` + 8 random hex digits. */
  randomVethName(): string;
  /** Whether CNI_NETNS names a namespace that still exists. */
  netnsExists(path: string): boolean;
  observe(o: { netns: string; family: 4 | 6; contIf: string; ip: string }): Promise<EgressObservation>;
}

/** An error as log fields (the plugin's JSON-lines logger would print an Error as {}): message, code, stack. */
function errFields(e: unknown): Record<string, unknown> {
  if (!(e instanceof Error)) return { message: String(e) };
  const code = (e as NodeJS.ErrnoException).code;
  return { type: e.name, message: e.message, ...(code ? { code } : {}), stack: e.stack };
}

const notChained = () =>
  new CniError(
    CniCode.InvalidNetworkConfig,
    'must be called as a chained plugin',
    'list egress-cni after aws-cni in the conflist',
  );

function requireIpam(conf: EgressConf): EgressIpamConf {
  if (!conf.ipam) throw new Error('egress-cni: enabled without an ipam section'); // parseEgressConf ensures it
  return conf.ipam;
}

function requireNodeV6(conf: EgressConf): void {
  if (conf.family === 6 && (conf.nodeIP === '' || !isGlobalUnicast6(conf.nodeIP)))
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      'global unicast IPv6 not found in host primary interface which is mandatory to support IPv6 egress',
      `nodeIP is "${conf.nodeIP.slice(0, 64)}"; give the node an IPv6 address or set ENABLE_V6_EGRESS=false`,
    );
}

async function applyAll(exec: EgressExecutor, ops: readonly EgressOp[], netns: string, applied: EgressOp[]) {
  for (const op of ops) {
    applied.push(op); // recorded first: a half-done op is undone too (undo ops tolerate "missing")
    await exec.apply(op, netns);
  }
}

/** ADD of a disabled plugin: the prevResult, printed in the config's version. */
export function egressPassThrough(conf: EgressConf): string {
  if (!conf.prevResult) throw notChained();
  return formatResult(parseResult(conf.prevResult, conf.cniVersion), conf.cniVersion);
}

export async function egressAdd(env: CniEnv, conf: EgressConf, deps: EgressDeps): Promise<string> {
  if (!conf.prevResult) throw notChained();
  const prev = parseResult(conf.prevResult, conf.cniVersion);
  if (!conf.enabled) return formatResult(prev, conf.cniVersion);
  requireNodeV6(conf);
  const ipamConf = requireIpam(conf);
  const range = ipamRange(ipamConf);
  const log = deps.logger;
  const store = deps.ipam(ipamConf.dataDir, conf.name);
  let ip: string;
  try {
    ip = store.reserve(env.containerId, env.ifName, range);
  } catch (e) {
    throw asCniError(e, 'egress-cni: could not reserve an egress address');
  }
  log.info({ containerId: env.containerId, ip, family: conf.family }, 'egress ADD');
  const applied: EgressOp[] = [];
  let exec: EgressExecutor | undefined;
  try {
    const plan = planEgressAdd({
      family: conf.family,
      network: conf.name,
      containerId: env.containerId,
      ifName: env.ifName,
      netns: env.netns,
      ip,
      prefixLen: range.cidr.bits,
      gateway: range.gateway,
      routes: ipamConf.routes,
      mtu: conf.mtu,
      nodeIP: conf.nodeIP,
      snat: conf.snat,
      hostIf: deps.randomVethName(),
      hostMac: deps.randomMac(),
      contMac: deps.randomMac(),
    });
    exec = await deps.executor();
    await applyAll(exec, plan.ops, env.netns, applied);
    const result: CniResult = { ...prev, interfaces: [...prev.interfaces, ...plan.interfaces] };
    return formatResult(result, conf.cniVersion);
  } catch (e) {
    log.error({ err: errFields(e), applied: applied.length }, 'egress ADD failed, rolling back');
    if (exec) {
      for (const op of egressRollback(applied)) {
        try {
          await exec.apply(op, env.netns);
        } catch (err) {
          log.error({ op, err: errFields(err) }, 'rollback step failed');
        }
      }
    }
    try {
      store.release(env.containerId, env.ifName);
    } catch (err) {
      log.error({ err: errFields(err) }, 'could not release the egress address');
    }
    throw asCniError(e, 'egress-cni: failed to set up egress');
  } finally {
    exec?.close();
  }
}

/**
 * DEL: the pod's SNAT chain and its POSTROUTING jump (by the chain's name, so also when the netns is gone), the
 * egress veth when the netns still exists, then the address. Pod-side errors are logged (the namespace is going
 * away); an iptables failure fails DEL (code 999) before the address is released, so the runtime's retry finds
 * everything still to do.
 */
export async function egressDel(env: CniEnv, conf: EgressConf, deps: EgressDeps): Promise<void> {
  if (!conf.enabled) return;
  const ipamConf = requireIpam(conf);
  const podNetns = env.netns !== '' && deps.netnsExists(env.netns);
  const ops = planEgressDel({
    family: conf.family,
    network: conf.name,
    containerId: env.containerId,
    podNetns,
  });
  const exec = await deps.executor();
  try {
    for (const op of ops) {
      try {
        await exec.apply(op, env.netns);
      } catch (e) {
        if (op.op === 'snatDel') throw asCniError(e, 'egress-cni: could not remove the SNAT rules');
        deps.logger.warn({ op, err: errFields(e) }, 'pod-side egress teardown failed');
      }
    }
  } finally {
    exec.close();
  }
  const released = deps.ipam(ipamConf.dataDir, conf.name).release(env.containerId, env.ifName);
  deps.logger.info({ containerId: env.containerId, released }, 'egress DEL');
}

/** CHECK: the reservation, the pod's egress interface and address, the host route and the SNAT rules. */
export async function egressCheck(env: CniEnv, conf: EgressConf, deps: EgressDeps): Promise<void> {
  if (!conf.enabled) return;
  if (!conf.prevResult) throw notChained();
  requireNodeV6(conf);
  const ipamConf = requireIpam(conf);
  ipamRange(ipamConf); // validates the range as ADD would
  const ip = deps.ipam(ipamConf.dataDir, conf.name).find(env.containerId, env.ifName);
  const contIf = egressIfName(conf.family);
  if (!ip)
    throw new CniError(
      CniCode.Internal,
      `egress-cni: no egress address is reserved for container ${env.containerId}`,
      'the pod was not set up by egress-cni; recreate it',
    );
  const prev = parseResult(conf.prevResult, conf.cniVersion);
  const at = prev.interfaces.findIndex((i) => i.name === contIf && i.sandbox !== undefined);
  const hostIf = at > 0 ? prev.interfaces[at - 1]?.name : undefined;
  const obs = await deps.observe({ netns: env.netns, family: conf.family, contIf, ip });
  const problems = checkProblems(
    {
      contIf,
      cidr: `${ip}/${parseCidr(ipamConf.subnet).bits}`,
      ip,
      hostIf,
      snat:
        conf.nodeIP === ''
          ? undefined
          : snatOp({
              family: conf.family,
              network: conf.name,
              containerId: env.containerId,
              ip,
              nodeIP: conf.nodeIP,
              snat: conf.snat,
            }),
    },
    obs,
  );
  if (problems.length)
    throw new CniError(
      CniCode.Internal,
      `egress-cni: ${problems.join('; ')}`,
      'the pod egress wiring changed since ADD; recreate the pod',
    );
}
