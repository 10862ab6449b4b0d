// Installs the CNI executables into the host's CNI bin directory. Each file is written to a temp name in the
// destination directory, fsynced, made 0755 and renamed over the old one, so a container runtime calling the
// plugin at that moment runs either the old or the new binary, never a half-written one.
import { StartupError } from '@vpc-cni/shared/startup';
import {
  closeSync,
  copyFileSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  chmodSync,
} from 'node:fs';
import { join } from 'node:path';

/** Multi-call names of the aws-k8s-agent executable: they run in the aws-node pod's containers, not on the host. */
export const NOT_INSTALLED = new Set([
  'aws-vpc-cni-init',
  'aws-k8s-agent',
  'aws-vpc-cni',
  'grpc-health-probe',
  'max-pods-calculator',
  'aws-network-policy-agent',
  'aws-eks-na-cli',
  'aws-eks-na-cli-v6',
]);

export interface Installed {
  name: string;
  bytes: number;
}

/** Installs every executable of srcDir (or only `only`, which must all exist). */
export function installBinaries(srcDir: string, destDir: string, only?: readonly string[]): Installed[] {
  const dest = statSync(destDir, { throwIfNoEntry: false });
  if (!dest?.isDirectory())
    throw new StartupError(
      `HOST_CNI_BIN_PATH ${destDir} is not a directory`,
      "mount the host's /opt/cni/bin there (hostPath volume) or set HOST_CNI_BIN_PATH to where it is mounted",
    );
  const out: Installed[] = [];
  const names = only ? [...only] : readdirSync(srcDir).sort();
  for (const name of names) {
    if (!only && (NOT_INSTALLED.has(name) || name.startsWith('.'))) continue;
    const src = join(srcDir, name);
    const st = statSync(src, { throwIfNoEntry: false });
    if (!st && only) throw new Error(`${name} is missing from ${srcDir}`);
    if (!st?.isFile()) continue;
    const tmp = join(destDir, `.${name}.tmp-${process.pid}`);
    try {
      copyFileSync(src, tmp);
      chmodSync(tmp, 0o755);
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, join(destDir, name));
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new Error(`installing ${name} into ${destDir} failed: ${(e as Error).message}`);
    }
    out.push({ name, bytes: st.size });
  }
  if (out.length === 0) throw new Error(`no executables to install in ${srcDir}`);
  syncDir(destDir);
  return out;
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
