// `pnpm bench netlink`: 2,000 routes and 500 rules added then deleted through our netlink module vs `ip -batch`
// doing the same, each in its own throwaway netns. Last line: {"ours_ms","ip_batch_ms","ratio"}.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Netlink } from '@vpc-cni/shared/netlink';

const ROUTES = 2000;
const RULES = 500;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const routeDst = (i: number): string => `10.${100 + (i >> 8)}.${i & 255}.0/24`;
const ruleSrc = (i: number): string => `10.200.${i >> 8}.${i & 255}/32`;

function withNs<T>(fn: (name: string) => T): T {
  const name = `vct-bnl-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  try {
    execFileSync('ip', ['-n', name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'eth1']);
    execFileSync('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
    execFileSync('ip', ['-n', name, 'link', 'set', 'eth1', 'up']);
    execFileSync('ip', ['-n', name, 'addr', 'add', '10.0.0.1/24', 'dev', 'eth0']);
    return fn(name);
  } finally {
    execFileSync('ip', ['netns', 'del', name]);
  }
}

function ours(name: string): number {
  const nl = Netlink.open(`/var/run/netns/${name}`);
  try {
    const t0 = process.hrtime.bigint();
    const oif = nl.link.get('eth0').index;
    for (let i = 0; i < ROUTES; i++)
      nl.route.add({ dst: routeDst(i), gateway: '10.0.0.2', dev: oif, table: 1000 });
    for (let i = 0; i < RULES; i++) nl.rule.add({ family: 4, priority: 1000, table: 1000, src: ruleSrc(i) });
    for (let i = 0; i < ROUTES; i++) nl.route.del({ dst: routeDst(i), table: 1000 });
    for (let i = 0; i < RULES; i++) nl.rule.del({ family: 4, priority: 1000, table: 1000, src: ruleSrc(i) });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    nl.close();
  }
}

function ipBatch(name: string): number {
  const lines: string[] = [];
  for (let i = 0; i < ROUTES; i++) lines.push(`route add ${routeDst(i)} via 10.0.0.2 dev eth0 table 1000`);
  for (let i = 0; i < RULES; i++) lines.push(`rule add from ${ruleSrc(i)} lookup 1000 pref 1000`);
  for (let i = 0; i < ROUTES; i++) lines.push(`route del ${routeDst(i)} table 1000`);
  for (let i = 0; i < RULES; i++) lines.push(`rule del from ${ruleSrc(i)} lookup 1000 pref 1000`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['-n', name, '-batch', '-'], { input: lines.join('\n') + '\n' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`ip -batch failed: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const oursRuns: number[] = [];
const ipRuns: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order so neither side always runs on a warmer machine.
  if (round % 2 === 0) {
    oursRuns.push(withNs(ours));
    ipRuns.push(withNs(ipBatch));
  } else {
    ipRuns.push(withNs(ipBatch));
    oursRuns.push(withNs(ours));
  }
}
const oursMs = median(oursRuns);
const ipMs = median(ipRuns);
console.log(`netlink: ${ROUTES} routes + ${RULES} rules add/del, ${ROUNDS} rounds (median)`);
console.log(
  `  ours ${oursRuns.map((x) => x.toFixed(1)).join(' ')} ms; ip -batch ${ipRuns.map((x) => x.toFixed(1)).join(' ')} ms`,
);
console.log(
  JSON.stringify({
    ours_ms: Number(oursMs.toFixed(1)),
    ip_batch_ms: Number(ipMs.toFixed(1)),
    ratio: Number((oursMs / ipMs).toFixed(2)),
  }),
);
