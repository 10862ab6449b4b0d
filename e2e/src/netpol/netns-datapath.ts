// Runs every call of a PolicyDatapath inside one network namespace (the simulated node's), so a test process in
// the root namespace can host the agent while its programs attach to host veths of a throwaway namespace.
// The contract's calls are synchronous, which is what withNetns needs.
import type { PolicyDatapath } from '@vpc-cni/network-policy-agent';
import { withNetns } from '@vpc-cni/shared/netlink';

export function inNetns(nsPath: string, open: () => PolicyDatapath): PolicyDatapath {
  const dp = withNetns(nsPath, open);
  const run = <T>(fn: () => T): T => withNetns(nsPath, fn);
  return {
    family: dp.family,
    listKeys: () => run(() => dp.listKeys()),
    attach: (key, veths, initial) => run(() => dp.attach(key, veths, initial)),
    writePolicy: (key, dir, content) => run(() => dp.writePolicy(key, dir, content)),
    readPolicy: (key, dir) => run(() => dp.readPolicy(key, dir)),
    setState: (key, dir, kind, state, opts) => run(() => dp.setState(key, dir, kind, state, opts)),
    getState: (key, dir, kind) => run(() => dp.getState(key, dir, kind)),
    remove: (key) => run(() => dp.remove(key)),
    conntrackGcTick: () => run(() => dp.conntrackGcTick()),
    flushConntrack: (ip) => run(() => dp.flushConntrack(ip)),
    readEvents: (cb) => run(() => dp.readEvents(cb)),
    close: () => run(() => dp.close()),
  };
}

/** The same datapath, calling `after` once each policy map write has returned (benchmarks time map updates). */
export function afterWrites(
  dp: PolicyDatapath,
  after: (key: string, dir: Parameters<PolicyDatapath['writePolicy']>[1]) => void,
): PolicyDatapath {
  return {
    family: dp.family,
    listKeys: () => dp.listKeys(),
    attach: (key, veths, initial) => dp.attach(key, veths, initial),
    writePolicy: (key, dir, content) => {
      dp.writePolicy(key, dir, content);
      after(key, dir);
    },
    readPolicy: (key, dir) => dp.readPolicy(key, dir),
    setState: (key, dir, kind, state, opts) => dp.setState(key, dir, kind, state, opts),
    getState: (key, dir, kind) => dp.getState(key, dir, kind),
    remove: (key) => dp.remove(key),
    conntrackGcTick: () => dp.conntrackGcTick(),
    flushConntrack: (ip) => dp.flushConntrack(ip),
    readEvents: (cb) => dp.readEvents(cb),
    close: () => dp.close(),
  };
}
