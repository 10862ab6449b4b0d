// aws-cni ADD/DEL wall time against a warm canned ipamd, vs Debian's Go ptp+host-local, vs the bare start-up
// floor (dist/bench/hello: a SEA that does nothing, built the same way); the same executable answering VERSION
// is reported too. 50 pods, plugins interleaved. Last line: one JSON object.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeIpamd, addNetns, delNetns, runPlugin, uniq } from '../../packages/cni-plugin/test/harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PODS = Number(process.env['BENCH_PODS'] ?? 50);
const work = mkdtempSync(join(tmpdir(), 'vct-bench-cni-'));

/** The SEA binary when built; otherwise an esbuild bundle run by node (said so in the output). */
function pluginCommand(): { cmd: string[]; kind: string; bytes: number; jsBytes: number } {
  const sea = join(ROOT, 'dist/bin/aws-cni');
  const out = join(work, 'aws-cni.mjs');
  execFileSync(
    join(ROOT, 'node_modules/.bin/esbuild'),
    [
      join(ROOT, 'packages/cni-plugin/test/bin.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node24',
      '--minify',
      `--outfile=${out}`,
    ],
    { stdio: 'ignore' },
  );
  // The JS the plugin carries (minified, all lazy chunks inlined): what start-up has to parse at most.
  const jsBytes = statSync(out).size;
  if (existsSync(sea)) return { cmd: [sea], kind: 'sea', bytes: statSync(sea).size, jsBytes };
  return { cmd: [process.execPath, out], kind: 'esbuild-bundle', bytes: jsBytes, jsBytes };
}

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.floor(s.length / 2)] ?? 0).toFixed(2));
};

async function timed(
  fn: () => Promise<{ code: number | null; stdout: string; stderr: string }>,
): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.code !== 0) throw new Error(`plugin failed (${String(r.code)}): ${r.stdout} ${r.stderr}`);
  return ms;
}

const hostNs = uniq('bnch');
const pods: string[] = [];
const ipamd = new FakeIpamd();
try {
  addNetns(hostNs);
  await ipamd.start();
  const plugin = pluginCommand();
  ipamd.onAdd = (req) => {
    const n = Number(req.ContainerID.split('-')[1]);
    return {
      IPAllocationMetadata: [
        { IPv4Addr: `10.0.${Math.floor(n / 200)}.${(n % 200) + 10}`, DeviceNumber: 0, RouteTableId: 254 },
      ],
    };
  };
  ipamd.onDel = (req) => {
    const n = Number(req.ContainerID.split('-')[1]);
    return {
      IPAllocationMetadata: [
        { IPv4Addr: `10.0.${Math.floor(n / 200)}.${(n % 200) + 10}`, RouteTableId: 254 },
      ],
    };
  };
  const awsConf = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'aws-cni',
    type: 'aws-cni',
    pluginLogFile: join(work, 'plugin.log'),
    pluginLogLevel: 'info',
    ipamdEndpoint: `unix://${ipamd.socket}`,
  });
  const ptpConf = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'ptp-bench',
    type: 'ptp',
    ipam: { type: 'host-local', subnet: '10.99.0.0/16', dataDir: join(work, 'host-local') },
  });
  const env = (command: string, cid: string, netns: string, pod: string) => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: cid,
    CNI_NETNS: netns,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=${cid}`,
  });
  const add: number[] = [];
  const del: number[] = [];
  const ptpAdd: number[] = [];
  const ptpDel: number[] = [];
  const floor: number[] = [];
  const version: number[] = [];
  const hello = join(ROOT, 'dist/bench/hello');
  for (let i = 0; i < PODS; i++) {
    const a = uniq('bpa');
    const b = uniq('bpb');
    pods.push(a, b);
    const pa = addNetns(a);
    const pb = addNetns(b);
    floor.push(await timed(() => runPlugin(hostNs, {}, '', [hello])));
    version.push(await timed(() => runPlugin(hostNs, { CNI_COMMAND: 'VERSION' }, '', plugin.cmd)));
    add.push(await timed(() => runPlugin(hostNs, env('ADD', `c-${i}`, pa, `p${i}`), awsConf, plugin.cmd)));
    ptpAdd.push(
      await timed(() => runPlugin(hostNs, env('ADD', `c-${i}`, pb, `p${i}`), ptpConf, ['/usr/lib/cni/ptp'])),
    );
    del.push(await timed(() => runPlugin(hostNs, env('DEL', `c-${i}`, pa, `p${i}`), awsConf, plugin.cmd)));
    ptpDel.push(
      await timed(() => runPlugin(hostNs, env('DEL', `c-${i}`, pb, `p${i}`), ptpConf, ['/usr/lib/cni/ptp'])),
    );
    delNetns(a);
    delNetns(b);
  }
  const result = {
    plugin: plugin.kind,
    binary_bytes: plugin.bytes,
    js_bundle_bytes: plugin.jsBytes,
    pods: PODS,
    add_p50_ms: p50(add),
    del_p50_ms: p50(del),
    floor_ms: p50(floor),
    version_ms: p50(version),
    ptp_add_p50_ms: p50(ptpAdd),
    ptp_del_p50_ms: p50(ptpDel),
    add_minus_floor_ms: Number((p50(add) - p50(floor)).toFixed(2)),
    del_minus_floor_ms: Number((p50(del) - p50(floor)).toFixed(2)),
    add_vs_ptp_ratio: Number((p50(add) / p50(ptpAdd)).toFixed(2)),
  };
  console.log(JSON.stringify(result));
} finally {
  for (const p of pods) delNetns(p);
  delNetns(hostNs);
  await ipamd.stop();
  rmSync(work, { recursive: true, force: true });
}
