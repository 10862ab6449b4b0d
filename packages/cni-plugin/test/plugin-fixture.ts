// The setup the aws-cni kernel tests share: a throwaway "host" netns with a trunk link, a canned ipamd on a unix
// socket, pod netns made on demand, and the config/env containerd would pass. Each test file that imports this
// gets its own (names are unique per import), torn down after its tests, failed or not.
import { afterAll, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { FakeIpamd, addNetns, cniEnv, delNetns, ipj, netConf, uniq } from './harness.js';

export const hostNs = uniq('cnih');
const pods: string[] = [];
export const ipamd = new FakeIpamd();
export let trunkIndex = 0;

/** Some kernels (this CI VM) lack 802.1Q; the branch-pod test needs it. */
function kernelHasVlan(): boolean {
  const ns = uniq('cniv');
  try {
    addNetns(ns);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'trk', 'type', 'veth', 'peer', 'name', 'trkp']);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'link', 'trk', 'name', 'trk.5', 'type', 'vlan', 'id', '5'], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  } finally {
    delNetns(ns);
  }
}
export const HAS_VLAN = kernelHasVlan();

export function newPod(): { name: string; path: string } {
  const name = uniq('cnip');
  pods.push(name);
  return { name, path: addNetns(name) };
}

export function conf(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return netConf(ipamd, extra);
}

export const env = cniEnv;

export type Rule = { priority: number; src?: string; dst?: string; iif?: string; table: string };
export const rules = (family: '-4' | '-6' = '-4') => ipj<Rule>(hostNs, [family, 'rule', 'show']);
export const hostLinks = () => ipj<{ ifname: string }>(hostNs, ['link', 'show']).map((l) => l.ifname);

beforeAll(async () => {
  addNetns(hostNs);
  execFileSync('ip', ['-n', hostNs, 'link', 'add', 'trunk0', 'type', 'veth', 'peer', 'name', 'trunk0p']);
  execFileSync('ip', ['-n', hostNs, 'link', 'set', 'trunk0', 'up']);
  trunkIndex = ipj<{ ifindex: number }>(hostNs, ['link', 'show', 'trunk0'])[0]?.ifindex ?? 0;
  await ipamd.start();
});

afterAll(async () => {
  for (const p of pods) delNetns(p);
  delNetns(hostNs);
  await ipamd.stop();
});
