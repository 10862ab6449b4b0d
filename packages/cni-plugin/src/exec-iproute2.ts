// Interim OpExecutor over iproute2 (`ip`), used until the koffi netlink module lands: same ops, same kernel
// state, only slower (one process per op). Pod-netns ops run under `nsenter --net=<CNI_NETNS>`.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { OpExecutor } from './commands/deps.js';
import type { Op } from './plan/ops.js';

class IpError extends Error {}

function ip(netns: string | undefined, args: string[], ignore: RegExp | undefined = undefined): string {
  const cmd = netns ? 'nsenter' : 'ip';
  const argv = netns ? [`--net=${netns}`, 'ip', ...args] : args;
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.error) throw new IpError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const err = (r.stderr || '').trim();
    if (ignore?.test(err)) return '';
    throw new IpError(`ip ${args.join(' ')}: ${err}`);
  }
  return r.stdout;
}

const NOT_FOUND =
  /Cannot find device|No such device|does not exist|No such process|No such file or directory/;

function selector(o: {
  from?: string | undefined;
  to?: string | undefined;
  iif?: string | undefined;
}): string[] {
  return [
    ...(o.from ? ['from', o.from] : []),
    ...(o.to ? ['to', o.to] : []),
    ...(o.iif ? ['iif', o.iif] : []),
  ];
}

async function waitDad(netns: string | undefined, dev: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const out = JSON.parse(ip(netns, ['-j', '-6', 'addr', 'show', 'dev', dev]) || '[]') as {
      addr_info?: { tentative?: boolean; dadfailed?: boolean }[];
    }[];
    const busy = out.some((l) => (l.addr_info ?? []).some((a) => a.tentative || a.dadfailed));
    if (!busy) return;
    if (Date.now() > until)
      throw new IpError(`link ${dev} still has tentative addresses after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function iproute2Executor(): OpExecutor {
  return {
    close: () => {},
    async apply(op: Op, podNetns: string): Promise<void> {
      const ns = 'ns' in op && op.ns === 'pod' ? podNetns : undefined;
      switch (op.op) {
        case 'linkDel':
          ip(ns, ['link', 'del', op.name], NOT_FOUND);
          return;
        case 'vethAdd':
          ip(podNetns, [
            'link',
            'add',
            op.contIf,
            'mtu',
            String(op.mtu),
            'type',
            'veth',
            'peer',
            'name',
            op.hostIf,
            'address',
            op.hostMac,
            'mtu',
            String(op.mtu),
            'netns',
            String(process.pid),
          ]);
          return;
        case 'vlanAdd': {
          const links = JSON.parse(ip(undefined, ['-j', 'link', 'show'])) as {
            ifindex: number;
            ifname: string;
          }[];
          const parent = links.find((l) => l.ifindex === op.parentIndex);
          if (!parent) throw new IpError(`trunk interface with index ${op.parentIndex} not found`);
          ip(undefined, [
            'link',
            'add',
            'link',
            parent.ifname,
            'name',
            op.name,
            'address',
            op.mac,
            'type',
            'vlan',
            'id',
            String(op.vlanId),
          ]);
          return;
        }
        case 'sysctl':
          if (ns) {
            const r = spawnSync('nsenter', [
              `--net=${ns}`,
              'sh',
              '-c',
              `echo ${op.value} > /proc/sys/${op.key}`,
            ]);
            if (r.status !== 0 && !op.optional) throw new IpError(`sysctl ${op.key} failed`);
            return;
          }
          try {
            writeFileSync(`/proc/sys/${op.key}`, op.value);
          } catch (e) {
            if (!(op.optional && (e as NodeJS.ErrnoException).code === 'ENOENT')) throw e;
          }
          return;
        case 'linkUp':
          ip(ns, ['link', 'set', op.name, 'up']);
          return;
        case 'routeReplace':
        case 'routeAdd':
          ip(ns, [
            'route',
            op.op === 'routeAdd' ? 'add' : 'replace',
            op.dst,
            ...(op.gw ? ['via', op.gw] : []),
            'dev',
            op.dev,
            ...(op.scopeLink ? ['scope', 'link'] : []),
            'table',
            String(op.table),
          ]);
          return;
        case 'ruleAdd':
          ip(
            ns,
            [
              `-${op.family}`,
              'rule',
              'add',
              ...selector(op),
              'lookup',
              String(op.table),
              'pref',
              String(op.priority),
            ],
            /File exists/,
          );
          return;
        case 'ruleDelAll':
          for (let n = 0; n < 64; n++) {
            const out = spawnSync(ns ? 'nsenter' : 'ip', [
              ...(ns ? [`--net=${ns}`, 'ip'] : []),
              `-${op.family}`,
              'rule',
              'del',
              'pref',
              String(op.priority),
              ...selector(op),
              ...(op.table !== undefined ? ['lookup', String(op.table)] : []),
            ]);
            if (out.status !== 0) return;
          }
          return;
        case 'routeDel':
          ip(
            ns,
            ['route', 'del', op.dst, 'table', String(op.table), ...(op.dev ? ['dev', op.dev] : [])],
            NOT_FOUND,
          );
          return;
        case 'addrAdd':
          ip(ns, ['addr', 'add', op.cidr, 'dev', op.dev]);
          return;
        case 'neighAdd':
          ip(ns, ['neigh', 'add', op.ip, 'lladdr', op.lladdr, 'dev', op.dev, 'nud', 'permanent']);
          return;
        case 'waitDad':
          await waitDad(ns, op.dev, op.timeoutMs);
          return;
      }
    },
  };
}
