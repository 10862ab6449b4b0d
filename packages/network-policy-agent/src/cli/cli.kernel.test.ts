// aws-eks-na-cli against pins made here: run through the multi-call entry (as the executable would be), output
// checked against what the datapath holds.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodState, PROTO_ANY, PROTO_TCP } from '../datapath/contract.js';
import { EbpfDatapath } from '../datapath/datapath.js';
import { createWorld, repoRoot, type World } from '../../test/world.js';

const KEY = 'shop-7c9@web';
const execFileAsync = promisify(execFile);

// Each CLI run starts tsx (seconds on a loaded machine): a longer per-test budget.
describe('aws-eks-na-cli (kernel)', { timeout: 180_000 }, () => {
  let w: World;
  let dp: EbpfDatapath;
  const cli = async (name: string, args: string[]): Promise<{ code: number; out: string }> => {
    try {
      const { stdout: out } = await execFileAsync(
        join(repoRoot, 'node_modules/.bin/tsx'),
        [join(repoRoot, 'packages/ipamd/src/main.ts'), name, '--bpffs-root', w.pinRoot, ...args],
        { encoding: 'utf8' },
      );
      return { code: 0, out };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, out: err.stdout + err.stderr };
    }
  };

  beforeAll(async () => {
    w = await createWorld('cli');
    dp = new EbpfDatapath({ family: 'ipv4', pinRoot: w.pinRoot, netns: `/var/run/netns/${w.node}` });
    dp.attach(KEY, [w.veth], { np: PodState.PoliciesApplied, cp: PodState.DefaultAllow });
    dp.writePolicy(
      KEY,
      'ingress',
      new Map([
        ['10.77.2.0/24', [{ protocol: PROTO_TCP, startPort: 80, endPort: 90 }]],
        ['0.0.0.0/0', [{ protocol: PROTO_ANY, startPort: 0, endPort: 0 }]],
      ]),
    );
    dp.setState(KEY, 'egress', 'np', PodState.DefaultAllow);
    expect(await w.peerProbe.tcp(w.podIp, 80)).toBe(true);
  });
  afterAll(() => {
    dp?.close();
    w?.cleanup();
  });

  const ids = async () => {
    const r = await cli('aws-eks-na-cli', ['ebpf', 'loaded-ebpfdata']);
    expect(r.code).toBe(0);
    const id = (name: string) => {
      const m = new RegExp(`Map Name:  ${name}\\nMap ID:  (\\d+)`).exec(r.out);
      return Number(m?.[1]);
    };
    return {
      out: r.out,
      ingressMap: id('ingress_map'),
      conntrack: id('global_aws_conntrack_map'),
      state: id('ingress_pod_state_map'),
    };
  };

  it('loaded-ebpfdata lists the pinned programs with pod identifier, direction and maps', async () => {
    const { out } = await ids();
    expect(out).toContain(`PinPath:  ${w.pinRoot}/programs/${KEY}_handle_ingress`);
    expect(out).toContain(`Pod Identifier : ${KEY}  Direction : ingress`);
    expect(out).toContain(`Pod Identifier : ${KEY}  Direction : egress`);
    const progId = dp.listKeys()[0]!.attached[0]!.ingressProgId;
    expect(out).toContain(`Prog ID:  ${progId}`);
    expect(out).toContain('Map Name:  cp_ingress_map');
    // and the tc filter really points at it: handle 1, priority 1, direct action
    const tc = execFileSync('tc', ['-n', w.node, 'filter', 'show', 'dev', w.veth, 'egress'], {
      encoding: 'utf8',
    });
    expect(tc).toMatch(/pref 1 bpf/);
    expect(tc).toMatch(/handle 0x1/);
    expect(tc).toMatch(/direct-action/);
    expect(tc).toContain(`id ${progId}`);
  });

  it('dump-maps prints policy entries, conntrack entries and pod state', async () => {
    const { ingressMap, conntrack, state } = await ids();
    const p = await cli('aws-eks-na-cli', ['ebpf', 'd', String(ingressMap)]);
    expect(p.code).toBe(0);
    expect(p.out).toContain('Key: 10.77.2.0/24\nEntry 0:\nProtocol  - TCP\nStartPort - 80\nEndPort   - 90');
    expect(p.out).toContain('Key: 0.0.0.0/0\nEntry 0:\nProtocol  - ANY PROTOCOL');
    expect(p.out).toMatch(/Done reading all entries\n$/);
    const c = await cli('aws-eks-na-cli', ['ebpf', 'dump-maps', String(conntrack)]);
    expect(c.out).toMatch(
      new RegExp(
        `Conntrack Key : Source IP - ${w.peerIp} Source port - \\d+ Dest IP - ${w.podIp} Dest port - 80 Protocol - 6 Owner IP - ${w.podIp} Ifindex - \\d+`,
      ),
    );
    expect(c.out).toMatch(/Conntrack Val - {2}5\n/); // NP applied, CP default allow
    expect(c.out).toMatch(/Last Seen \(ns\) - {2}\d+ {2}\(\d+\.\ds ago\)/);
    const s = await cli('aws-eks-na-cli', ['ebpf', 'dump-maps', String(state)]);
    expect(s.out).toContain('Key :  0\nState -  0');
    expect(s.out).toContain('Key :  1\nState -  1');
  });

  it('progs and maps list every program and map on the node', async () => {
    const progId = dp.listKeys()[0]!.attached[0]!.egressProgId;
    const p = await cli('aws-eks-na-cli', ['ebpf', 'progs']);
    expect(p.out).toMatch(
      new RegExp(
        `^Programs currently loaded : \\n[\\s\\S]*Type : 3 ID : ${progId} Associated maps count : 6\\n={88}`,
      ),
    );
    const { ingressMap } = await ids();
    const m = await cli('aws-eks-na-cli', ['ebpf', 'm']);
    expect(m.out).toContain(`Type : 11 ID : ${ingressMap}\nKeysize 8 Valuesize 288 MaxEntries 65536`);
  });

  it('errors: wrong map kind, missing id, v6 CLI on v4 maps, no cp dump in v6', async () => {
    const { ingressMap } = await ids();
    const [cp, noId, v6, v6cp, bogus] = await Promise.all([
      cli('aws-eks-na-cli', ['ebpf', 'dcp', String(ingressMap)]),
      cli('aws-eks-na-cli', ['ebpf', 'd']),
      cli('aws-eks-na-cli-v6', ['ebpf', 'd', String(ingressMap)]),
      cli('aws-eks-na-cli-v6', ['ebpf', 'dcp', '1']),
      cli('aws-eks-na-cli', ['ebpf', 'bogus']),
    ]);
    expect(cp.code).toBe(1);
    expect(cp.out).toMatch(/^Failed to execute the cmd - {2}map \d+ .* is not a ipv4 cluster policy map/);
    expect(noId.out).toContain('a map ID (a positive integer) is required');
    expect(v6.out).toContain('is not a ipv6 policy map');
    expect(v6cp.out).toContain('not available in the IPv6 CLI');
    expect(bogus.code).toBe(2);
  });
});
