// Nothing lost: a real aws-k8s-agent under an ADD/DEL storm from 32 concurrent gRPC clients is killed with
// SIGKILL at a random moment, 20 times. After each restart every acknowledged allocation is there with its
// address, nothing acknowledged as released came back, no address is held twice, and every other address of
// the pool can be handed out again. Checked on the checkpoint file itself: the restarted agent replays its
// journal and rewrites the file before it serves (docs/architecture.md#checkpoint-file).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CNIBackend, RpcClient, isServing } from '@vpc-cni/shared/rpc';
import { silentLogger } from '@vpc-cni/shared/logging';
import { Checkpoint, decodeCheckpoint } from '../src/persistence/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const AGENT = join(ROOT, 'dist/bin/aws-k8s-agent');
const POOL = Array.from({ length: 64 }, (_, i) => `10.0.1.${10 + i}`);
const KEEP_ACROSS_ROUNDS = 16;
const CLIENTS = 32;
const ROUNDS = 20;

const dir = mkdtempSync(join(tmpdir(), 'vct-crash-'));
const socket = join(dir, 'ipamd.sock');
const store = join(dir, 'ipam.json');
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startAgent(): ChildProcess {
  return spawn(AGENT, [], {
    stdio: 'ignore',
    env: {
      PATH: process.env['PATH'] ?? '',
      VPC_CNI_STATIC_ENIS: JSON.stringify([{ id: 'eni-0aa', deviceNumber: 0, ips: POOL }]),
      VPC_CNI_IPAMD_SOCKET: socket,
      AWS_VPC_K8S_CNI_BACKING_STORE: store,
      AWS_VPC_K8S_CNI_LOG_FILE: join(dir, 'ipamd.log'),
      AWS_VPC_K8S_CNI_LOGLEVEL: 'error',
      IP_COOLDOWN_PERIOD: '0',
      VPC_CNI_ADD_WAIT_SECONDS: '0',
      DISABLE_INTROSPECTION: 'true',
      DISABLE_METRICS: 'true',
    },
  });
}

async function waitServing(): Promise<void> {
  // A budget in time, not attempts: on a loaded 2-core machine the executable alone can take seconds to start.
  for (const until = performance.now() + 30_000; performance.now() < until;) {
    if (await isServing(`unix://${socket}`, 500)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('agent did not become SERVING');
}

let acked = 0;

/** Between rounds, with the agent alive: release all but a few long-lived pods. */
async function janitor(states: Map<string, State>): Promise<void> {
  const held = [...states].filter(([, s]) => s.kind === 'held').map(([id]) => id);
  const c = new RpcClient({ endpoint: `unix://${socket}` });
  for (const id of held.slice(KEEP_ACROSS_ROUNDS)) {
    await c.call(CNIBackend.DelNetwork, { ...req(id), Reason: 'PodDeleted', K8S_POD_UID: '' });
    states.set(id, { kind: 'none' });
  }
  c.close();
}

type State =
  { kind: 'none' } | { kind: 'held'; ip: string } | { kind: 'adding' } | { kind: 'deleting'; ip: string };

const req = (c: string) => ({
  ContainerID: c,
  IfName: 'eth0',
  NetworkName: 'aws-cni',
  K8S_POD_NAME: c,
  K8S_POD_NAMESPACE: 'storm',
  K8S_POD_INFRA_CONTAINER_ID: c,
  Netns: '',
  ClientVersion: '',
  RequiresMultiNICAttachment: false,
});

describe.skipIf(!existsSync(AGENT))('ipamd crash safety (SIGKILL under load)', () => {
  it(`keeps every acknowledged allocation across ${ROUNDS} kills`, async () => {
    const states = new Map<string, State>();
    let generation = 0;
    for (let round = 0; round < ROUNDS; round++) {
      child = startAgent();
      await waitServing();
      // After the restart: what the agent wrote back after restoring is the truth to check.
      if (round > 0) verify(states);
      await janitor(states);
      generation++;
      const stop = { now: false };
      const clients = Array.from({ length: CLIENTS }, (_, i) => storm(`g${generation}-c${i}`, states, stop));
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 250));
      child.kill('SIGKILL');
      await new Promise((r) => child?.once('exit', r));
      stop.now = true;
      await Promise.all(clients);
    }
    child = startAgent();
    await waitServing();
    verify(states);
    expect(acked, 'acknowledged operations during the storms').toBeGreaterThan(ROUNDS * CLIENTS);
    // Released addresses are free again: the whole rest of the pool can be handed out.
    const held = [...states.values()].filter((s) => s.kind === 'held').length;
    const c = new RpcClient({ endpoint: `unix://${socket}` });
    const extra = await Promise.all(
      Array.from({ length: POOL.length - held }, (_, i) => c.call(CNIBackend.AddNetwork, req(`final-${i}`))),
    );
    c.close();
    // The journal holds these until the next compaction: read the state as ipamd's own start would.
    const now = await new Checkpoint(store, () => [], silentLogger).load();
    const all = (now.kind === 'loaded' ? now.entries : []).map((e) => e.allocation.address);
    expect(extra.every((r) => r.Success)).toBe(true);
    expect(all.length).toBe(POOL.length);
    expect(new Set(all).size).toBe(POOL.length);
    child.kill('SIGKILL');
  });
});

/** One client: ADD then DEL its own containers until the agent dies; records what was acknowledged. */
async function storm(prefix: string, states: Map<string, State>, stop: { now: boolean }): Promise<void> {
  const c = new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 2_000 });
  try {
    let kept: string | undefined;
    for (let n = 0; !stop.now; n++) {
      const id = `${prefix}-${n}`;
      states.set(id, { kind: 'adding' });
      let ip: string;
      try {
        const r = await c.call(CNIBackend.AddNetwork, req(id));
        ip = r.IPAllocationMetadata[0]?.IPv4Addr ?? '';
        states.set(id, { kind: 'held', ip });
        acked++;
      } catch {
        return; // agent gone: the ADD may or may not have happened
      }
      if (kept === undefined && Math.random() < 0.3) {
        kept = id; // each client keeps at most one pod per round, so the pool never runs dry
        continue;
      }
      states.set(id, { kind: 'deleting', ip });
      try {
        await c.call(CNIBackend.DelNetwork, { ...req(id), Reason: 'PodDeleted', K8S_POD_UID: '' });
        states.set(id, { kind: 'none' });
        acked++;
      } catch {
        return;
      }
    }
  } finally {
    c.close();
  }
}

function verify(states: Map<string, State>): void {
  const onDisk = new Map(
    decodeCheckpoint(readFileSync(store, 'utf8')).map((e) => [
      e.allocation.key.containerID,
      e.allocation.address,
    ]),
  );
  const addresses = [...onDisk.values()];
  expect(new Set(addresses).size, 'an address is held twice').toBe(addresses.length);
  for (const [id, s] of states) {
    const got = onDisk.get(id);
    if (s.kind === 'held') expect(got, `acknowledged ADD of ${id} lost`).toBe(s.ip);
    if (s.kind === 'none') expect(got, `acknowledged DEL of ${id} undone`).toBeUndefined();
    if (s.kind === 'deleting' && got !== undefined) expect(got).toBe(s.ip);
    // Settle the in-flight ones to what the agent kept, so later rounds check them exactly.
    if (s.kind === 'adding' || s.kind === 'deleting')
      states.set(id, got === undefined ? { kind: 'none' } : { kind: 'held', ip: got });
  }
  for (const id of onDisk.keys()) expect(states.has(id), `unknown allocation ${id}`).toBe(true);
}
