// One seeded fuzz run: a random walk of CNI calls (ADD, DEL, repeated DEL, DEL without ADD, CHECK, CHECK after DEL,
// GC, STATUS, address reuse between pods, ipamd going away and coming back, hostile configs, variables and
// prevResults) against the built aws-cni, each run judged by the oracle, the node's state compared with the model
// along the way and at the end.
import { bendEnv, bendPrevResult, CONFIG_KEYS, hostileValue, toStdin, wrongValue } from './hostile.js';
import { Model, type FuzzPod } from './model.js';
import { oracle, type Invocation } from './oracle.js';
import { Rng } from './rng.js';
import { POOL, World } from './world.js';

const VERSIONS = ['0.3.1', '0.4.0', '1.0.0', '1.1.0'];

export interface FuzzReport {
  readonly seed: number;
  readonly runs: number;
  readonly violations: string[];
  /** How often each action ran and each outcome (command → exit 0 or CNI code) was seen. */
  readonly tally: Record<string, number>;
}

export async function fuzz(seed: number, steps: number): Promise<FuzzReport> {
  const r = new Rng(seed);
  const w = new World();
  const m = new Model();
  const violations: string[] = [];
  let runs = 0;
  const tally: Record<string, number> = {};
  const count = (k: string) => (tally[k] = (tally[k] ?? 0) + 1);
  let n = 0;
  const names = { pod: 0, cid: 0 };
  const freshCid = () => `fz${seed.toString(16)}c${(names.cid += 1)}${r.hex(8)}`;
  const freshPod = () => `pod-${seed.toString(16)}-${(names.pod += 1)}`;

  const conf = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    cniVersion: r.pick(VERSIONS),
    name: 'aws-cni',
    type: 'aws-cni',
    vethPrefix: 'eni',
    mtu: '9001',
    podSGEnforcingMode: 'strict',
    pluginLogFile: `${w.dir}/plugin.log`,
    pluginLogLevel: 'debug',
    ipamdEndpoint: `unix://${w.socket}`,
    ipamdTimeoutMs: 3_000,
    'cni.dev/valid-attachments': m.validAttachments(),
    ...extra,
  });
  const env = (cmd: string, cid: string, netns: string, pod: string): Record<string, string> => ({
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: cid,
    CNI_NETNS: netns,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=fuzz;K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=${cid};K8S_POD_UID=u-${cid}`,
  });
  const withCmd = (p: FuzzPod, cmd: string, netns = p.ns.path) => ({
    ...p.env,
    CNI_COMMAND: cmd,
    CNI_NETNS: netns,
  });

  /** Runs one invocation, applies the oracle, and returns it with its CNI error code (if any). */
  async function call(
    what: string,
    e: Record<string, string>,
    c: Record<string, unknown>,
  ): Promise<Invocation & { cni?: number }> {
    const stdin = toStdin(c);
    const res = await w.run(e, stdin);
    runs += 1;
    for (const v of oracle(e['CNI_COMMAND'] ?? '', c['cniVersion'], res))
      violations.push(`step ${n} ${what}: ${v}`);
    let cni: number | undefined;
    try {
      cni = res.code === 0 ? undefined : (JSON.parse(res.stdout) as { code?: number }).code;
    } catch {
      cni = undefined;
    }
    if (process.env['FUZZ_TRACE'])
      console.log(
        `step ${n} ${what} cid=${(e['CNI_CONTAINERID'] ?? '').slice(0, 24)} netns=${(e['CNI_NETNS'] ?? '').slice(0, 40)} ipamd=${w.ipamdUp ? 'up' : 'down'} → ${res.code} ${res.stdout.slice(0, 160).replace(/\s+/g, ' ')}`,
      );
    count(`${(e['CNI_COMMAND'] ?? '-').slice(0, 8)}→${res.code === 0 ? 'ok' : (cni ?? res.code)}`);
    return { ...res, ...(cni !== undefined ? { cni } : {}) };
  }
  const expectThat = (ok: boolean, what: string, res: Invocation) => {
    if (!ok) violations.push(`step ${n} ${what}: exit ${res.code} ${res.stdout.slice(0, 300)}`);
  };

  /** Records a successful ADD as a pod (whatever the inputs were). */
  function adopt(
    res: Invocation,
    e: Record<string, string>,
    c: Record<string, unknown>,
    ns: { name: string; path: string },
    podName: string,
  ) {
    const prev = JSON.parse(res.stdout) as Record<string, unknown>;
    const { interfaces = [], ips = [] } = prev as {
      interfaces?: { name: string; mac?: string }[];
      ips?: { address: string }[];
    };
    const ip = (ips[0]?.address ?? (prev['ip4'] as { ip?: string } | undefined)?.ip ?? '').replace(
      /\/\d+$/,
      '',
    );
    const hostIf = interfaces[0]?.name ?? '';
    const table = Number(interfaces[1]?.mac ?? 254) > 1 ? Number(interfaces[1]?.mac ?? 254) : 254;
    if (!POOL.includes(ip)) violations.push(`step ${n} ADD: address ${ip} is not from the node's ENIs`);
    if (m.allocated().includes(ip)) violations.push(`step ${n} ADD: address ${ip} given to two pods at once`);
    const cid = e['CNI_CONTAINERID'] ?? '';
    m.alive.set(cid, { cid, podName, ns, env: e, conf: c, prev, ip, table, hostIf });
  }

  async function add(podName: string): Promise<void> {
    const ns = w.newPodNs();
    const cid = freshCid();
    const e = env('ADD', cid, ns.path, podName);
    const c = conf();
    const res = await call('ADD', e, c);
    if (res.code === 0) return adopt(res, e, c, ns, podName);
    w.dropPodNs(ns.name);
    if (!w.ipamdUp) expectThat(res.cni === 11, 'ADD with ipamd down must be code 11', res);
    else expectThat(m.allocated().length >= POOL.length, 'ADD with free addresses must succeed', res);
  }

  async function del(p: FuzzPod, withPrev: boolean): Promise<void> {
    // The runtime deletes with the config it added with (network name, endpoint, ...), and the ADD result.
    const c = withPrev ? conf({ ...p.conf, prevResult: p.prev }) : conf({ ...p.conf, prevResult: undefined });
    const res = await call('DEL', withCmd(p, 'DEL'), c);
    if (w.ipamdUp) {
      expectThat(res.code === 0, 'DEL with ipamd up must succeed', res);
      if (res.code !== 0) return;
      m.alive.delete(p.cid);
      m.pending.delete(p.cid);
      w.dropPodNs(p.ns.name); // the runtime removes the sandbox after DEL
      m.gone.push(p);
    } else {
      expectThat(res.cni === 11, 'DEL with ipamd down must be code 11', res);
      const cleaned = withPrev || (m.pending.get(p.cid)?.cleaned ?? false);
      if (m.alive.delete(p.cid) || m.pending.has(p.cid)) m.pending.set(p.cid, { ...p, cleaned });
    }
  }

  async function hostile(): Promise<void> {
    const cmd = r.weighted([
      [4, 'ADD'],
      [4, 'DEL'],
      [2, 'CHECK'],
      [1, 'GC'],
      [1, 'STATUS'],
      [1, 'VERSION'],
    ] as const);
    const podName = freshPod();
    const ns = cmd === 'ADD' ? w.newPodNs() : { name: '', path: r.pick(['', '/var/run/netns/none']) };
    let e = env(cmd, freshCid(), ns.path, podName);
    let c = conf();
    const donor = [...m.alive.values()][r.int(0, Math.max(0, m.alive.size - 1))];
    switch (
      r.weighted([
        [3, 0],
        [3, 1],
        [2, 2],
        [3, 3],
      ] as const)
    ) {
      case 0: {
        const key = r.weighted(
          CONFIG_KEYS.map((k) => [k === 'mtu' || k === 'prevResult' ? 3 : 1, k] as const),
        );
        c = { ...c, [key]: hostileValue(r) };
        break;
      }
      case 1: {
        const key = r.weighted(
          CONFIG_KEYS.map((k) => [k === 'ipamdEndpoint' || k === 'ipamdTimeoutMs' ? 3 : 1, k] as const),
        );
        c = { ...c, [key]: wrongValue(r, key) };
        break;
      }
      case 2:
        e = bendEnv(r, e);
        break;
      default:
        if (donor)
          c = { ...c, cniVersion: donor.conf['cniVersion'], prevResult: bendPrevResult(r, donor.prev) };
        break;
    }
    const res = await call(`hostile ${cmd}`, e, c);
    if (cmd === 'ADD' && res.code === 0) return adopt(res, e, c, ns, podName);
    if (cmd === 'ADD') w.dropPodNs(ns.name);
  }

  async function checkState(when: string): Promise<void> {
    const want = m.expectedHost();
    let got = w.hostState();
    // A deleted netns takes its veth along asynchronously (the kernel's netns cleanup work): wait for it, bounded.
    for (let i = 0; i < 50 && JSON.stringify(got) !== JSON.stringify(want); i++) {
      await new Promise((res) => setTimeout(res, 100));
      got = w.hostState();
    }
    if (JSON.stringify(got) !== JSON.stringify(want))
      violations.push(`${when}: host state ${JSON.stringify(got)} but the pods own ${JSON.stringify(want)}`);
    for (const p of m.alive.values()) {
      const pod = w.podState(p.ns.name);
      if (!pod || pod.addrs.join() !== p.ip || pod.gw !== '169.254.1.1')
        violations.push(
          `${when}: pod ${p.cid} netns holds ${JSON.stringify(pod)}, not ${p.ip} via 169.254.1.1`,
        );
    }
  }

  try {
    await w.startIpamd();
    for (n = 1; n <= steps; n++) {
      const alive = [...m.alive.values()];
      const pending = [...m.pending.values()];
      const action = r.weighted<string>([
        [5, 'add'],
        [alive.length ? 4 : 0, 'del'],
        [m.gone.length ? 3 : 0, 'redel'],
        [pending.length ? 3 : 0, 'retry'],
        [1, 'del-unknown'],
        [alive.length ? 2 : 0, 'check'],
        [m.gone.length ? 1 : 0, 'check-gone'],
        [alive.length && !w.ipamdUp ? 4 : 0, 'impostor'],
        [1, 'gc'],
        [1, 'status'],
        [w.ipamdUp ? 1 : 3, 'toggle-ipamd'],
        [10, 'hostile'],
      ]);
      count(action);
      switch (action) {
        case 'add': {
          const reuse = m.gone.length > 0 && r.chance(0.3) ? r.pick(m.gone).podName : freshPod();
          if (![...m.alive.values(), ...m.pending.values()].some((p) => p.podName === reuse))
            await add(reuse);
          break;
        }
        case 'del':
          await del(r.pick(alive), r.chance(0.8));
          break;
        case 'retry':
          await del(r.pick(pending), r.chance(0.8));
          break;
        case 'redel': {
          const g = r.pick(m.gone);
          const res = await call(
            'repeated DEL',
            withCmd(g, 'DEL', r.pick(['', g.ns.path])),
            conf({ cniVersion: g.conf['cniVersion'], prevResult: g.prev }),
          );
          expectThat(w.ipamdUp ? res.code === 0 : res.cni === 11, 'repeated DEL', res);
          break;
        }
        case 'del-unknown': {
          // Sometimes with a container id long enough to need HTTP/2 flow control on the way to ipamd.
          const cid = r.chance(0.4) ? freshCid().padEnd(r.pick([30_000, 60_000]), 'f') : freshCid();
          const res = await call('DEL without ADD', env('DEL', cid, '', freshPod()), conf());
          expectThat(w.ipamdUp ? res.code === 0 : res.cni === 11, 'DEL without ADD', res);
          break;
        }
        case 'check': {
          const p = r.pick(alive);
          const c = conf({ cniVersion: r.pick(['0.4.0', '1.0.0', '1.1.0']), prevResult: p.prev });
          const res = await call('CHECK', withCmd(p, 'CHECK'), c);
          if (p.env['CNI_IFNAME'] === 'eth0')
            expectThat(res.code === 0, 'CHECK of a live pod must pass', res);
          break;
        }
        case 'check-gone': {
          const g = r.pick(m.gone);
          const res = await call(
            'CHECK after DEL',
            withCmd(g, 'CHECK'),
            conf({ cniVersion: '1.0.0', prevResult: g.prev }),
          );
          expectThat(res.code === 1, 'CHECK after DEL must fail', res);
          break;
        }
        case 'impostor': {
          // Another container of the same pod name, with a live pod's prevResult, while ipamd is away.
          const p = r.pick(alive);
          const e = { ...env('DEL', freshCid(), r.pick(['', '/var/run/netns/none']), p.podName) };
          const res = await call(
            'DEL with a live pod prevResult',
            e,
            conf({ cniVersion: p.conf['cniVersion'], prevResult: p.prev }),
          );
          expectThat(res.cni === 11, 'DEL with ipamd down must be code 11', res);
          break;
        }
        case 'gc': {
          // Sometimes with thousands of extra (unknown) attachments: a request of well over 64 KB.
          const extra = r.chance(0.5)
            ? Array.from({ length: r.pick([1_000, 3_000]) }, (_, i) => ({
                containerID: `gone${i}${r.hex(56)}`,
                ifname: 'eth0',
              }))
            : [];
          const c = conf({ cniVersion: '1.1.0' });
          const valid = [...(c['cni.dev/valid-attachments'] as unknown[]), ...extra];
          const res = await call('GC', env('GC', freshCid(), '', freshPod()), {
            ...c,
            'cni.dev/valid-attachments': valid,
          });
          expectThat(w.ipamdUp ? res.code === 0 : res.code === 1, 'GC', res);
          break;
        }
        case 'status': {
          const res = await call(
            'STATUS',
            env('STATUS', freshCid(), '', freshPod()),
            conf({ cniVersion: '1.1.0' }),
          );
          expectThat(w.ipamdUp ? res.code === 0 : res.cni === 50, 'STATUS', res);
          break;
        }
        case 'toggle-ipamd':
          if (w.ipamdUp) await w.stopIpamd();
          else await w.startIpamd();
          break;
        default:
          await hostile();
      }
      // After a DEL that ran while ipamd was away (it cleans from prevResult), and every 15 steps.
      if (n % 15 === 0 || (!w.ipamdUp && ['redel', 'impostor', 'del'].includes(action)))
        await checkState(`after step ${n} (${action})`);
    }
    // Wind down: ipamd back, every pod deleted, nothing left anywhere.
    if (!w.ipamdUp) await w.startIpamd();
    n = steps + 1;
    await checkState('at the end');
    for (const p of [...m.pending.values(), ...m.alive.values()]) await del(p, true);
    await checkState('after deleting every pod');
    let left = w.allocations();
    for (let i = 0; i < 40 && left.size > 0; i++) {
      await new Promise((res) => setTimeout(res, 50));
      left = w.allocations();
    }
    if (left.size > 0)
      violations.push(`after deleting every pod ipamd still holds ${JSON.stringify([...left])}`);
  } finally {
    await w.close();
  }
  return { seed, runs, violations, tally };
}
