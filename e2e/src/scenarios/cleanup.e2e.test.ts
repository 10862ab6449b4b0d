// A run leaves nothing behind even when a test stops half-way: stopping a node whose pods were never deleted
// removes their sandboxes over CRI (so containerd deletes the pod netns and shims), and anything that still
// outlives containerd is killed by PID; no process, netns or cgroup of those pods remains.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { createPod } from '../demo/cri-pods.js';
import { canRun, startScenarioNode } from './kit.js';

/** containerd-shim processes serving one of these sandboxes (their command line names the sandbox id). */
const shimsOf = (sandboxIds: string[]): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        return args[0]?.startsWith('/usr/bin/containerd-shim') && sandboxIds.some((id) => args.includes(id));
      } catch {
        return false;
      }
    })
    .map(Number);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!canRun)('cleanup after an interrupted test', () => {
  it('stop() with pods still running leaves no pause process, shim, pod netns or cgroup', async () => {
    const n = await startScenarioNode({ type: 'm5.large' });
    const pods = [await createPod(n.cri, 'left-0', 0), await createPod(n.cri, 'left-1', 1)];
    const status = await Promise.all(pods.map((p) => n.cri.status(p.id)));
    const sandboxNetns = status.map((s) => s.netnsPath).filter(Boolean);
    expect(sandboxNetns).toHaveLength(2);
    expect(pods.every((p) => alive(p.pid))).toBe(true);
    const ids = pods.map((p) => p.id);
    expect(shimsOf(ids).length).toBeGreaterThan(0);
    await n.stop();
    expect(pods.filter((p) => alive(p.pid))).toEqual([]);
    expect(sandboxNetns.filter((p) => existsSync(p))).toEqual([]);
    expect(pods.filter((p) => existsSync(`/sys/fs/cgroup/memory/k8s.io/${p.id}`))).toEqual([]);
    // No containerd-shim of these pods is left (only ours: other containerds may run beside this test).
    expect(shimsOf(ids)).toEqual([]);
  }, 120_000);
});
