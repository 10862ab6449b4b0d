// The VLAN lab's guest images: Debian's own kernel (pinned, fetched with apt-get download, never installed) as an
// uncompressed vmlinux, and a tiny busybox initramfs holding the init script and the kernel modules the tests
// need. Both are cached under .cache/vlan-lab/ and rebuilt when an input changes (see scripts/vlan-lab/README.md).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';

/** Pinned guest kernel: the modules come from the same package, so they always match it. */
export const KERNEL = {
  pkg: process.env['VLAN_LAB_KERNEL_PKG'] ?? 'linux-image-6.1.0-50-amd64',
  version: process.env['VLAN_LAB_KERNEL_VERSION'] ?? '6.1.176-1',
} as const;

/** Modules loaded at boot, with their dependencies (resolved by modprobe against the unpacked tree). */
export const MODULES = [
  'virtio_pci',
  '9pnet_virtio',
  '9p',
  '8021q',
  'veth',
  'dummy',
  'nf_tables',
  'nft_ct',
  // ipamd's host rules (iptables-nft: xt matches and targets through nft_compat, the nat table)
  'nft_compat',
  'nft_chain_nat',
  'xt_comment',
  'xt_addrtype',
  'xt_connmark',
  'xt_conntrack',
  'xt_nat',
  'ipt_REJECT',
] as const;

const BUSYBOX = '/bin/busybox';
/** Bumped when the way the images are built changes (part of the cache key). */
const FORMAT = 2;
const HERE = import.meta.dirname;
export const REPO = resolve(HERE, '../..');
export const CACHE = join(REPO, '.cache/vlan-lab');

export interface GuestImages {
  vmlinux: string;
  initramfs: string;
  /** true when this call built them (false: taken from the cache). */
  built: boolean;
}

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`vlan-lab: cannot run ${cmd}: ${r.error.message} (scripts/apt/vlan-lab.txt)`);
  if (r.status !== 0)
    throw new Error(`vlan-lab: ${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The key of everything the images are made of. */
export function imageKey(): string {
  const init = readFileSync(join(HERE, 'init.sh'), 'utf8');
  const bb = existsSync(BUSYBOX) ? sha256(readFileSync(BUSYBOX)) : 'missing';
  return sha256(JSON.stringify({ FORMAT, KERNEL, MODULES, init, bb })).slice(0, 16);
}

/** The pinned kernel package, downloaded once into the cache. */
function kernelDeb(): string {
  const dir = join(CACHE, 'debs');
  mkdirSync(dir, { recursive: true });
  const want = `${KERNEL.pkg}_${KERNEL.version.replace(/^\d+:/, '')}_amd64.deb`;
  const deb = join(dir, want);
  if (existsSync(deb)) return deb;
  const tmp = join(dir, `.dl-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const r = spawnSync('apt-get', ['download', `${KERNEL.pkg}=${KERNEL.version}`], {
      cwd: tmp,
      encoding: 'utf8',
    });
    const got = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (r.status !== 0 || !got)
      throw new Error(
        `vlan-lab: cannot download ${KERNEL.pkg}=${KERNEL.version} (${(r.stderr ?? '').trim().slice(-500)}); ` +
          'run `apt-get update`, or pin a kernel the mirror has (`apt-cache search linux-image-6.1.0` → ' +
          'VLAN_LAB_KERNEL_PKG / VLAN_LAB_KERNEL_VERSION, or KERNEL in scripts/vlan-lab/images.ts)',
      );
    renameSync(join(tmp, got), deb);
    return deb;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** bzImage → vmlinux (ELF, PVH entry): QEMU then skips the in-guest decompression (about 3 s under TCG). */
function decompressKernel(vmlinuz: string, out: string): void {
  const img = readFileSync(vmlinuz);
  const xz = img.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (xz < 0) throw new Error(`vlan-lab: ${vmlinuz} holds no xz-compressed kernel`);
  const r = spawnSync('xz', ['-dc', '--single-stream'], { input: img.subarray(xz), maxBuffer: 1 << 30 });
  const elf = r.stdout;
  if (!elf || elf.subarray(0, 4).toString('latin1') !== '\x7fELF')
    throw new Error(`vlan-lab: decompressing ${vmlinuz} gave no ELF kernel (${String(r.stderr)})`);
  writeFileSync(out, elf);
}

/** Module files to insmod, in order, from modprobe's view of the unpacked tree. */
function moduleFiles(root: string, release: string): string[] {
  const files: string[] = [];
  for (const m of MODULES) {
    const out = run('modprobe', ['-d', root, '-S', release, '--show-depends', m]);
    for (const line of out.split('\n')) {
      // The path may hold spaces (a checkout under "/tmp/ci run"); module options, if any, follow the file name.
      const f = /^insmod (.+?\.ko(?:\.[a-z]+)?)(?:\s|$)/.exec(line)?.[1];
      if (f && !files.includes(f)) files.push(f);
    }
  }
  return files;
}

/** The host's top-level merged-/usr links (bin → usr/bin, ...), mirrored so the shared /usr works as-is. */
function usrLinks(): [string, string][] {
  const links: [string, string][] = [];
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const p = `/${name}`;
    if (existsSync(p) && lstatSync(p).isSymbolicLink()) links.push([name, readlinkSync(p)]);
  }
  return links;
}

const SIG_MARKER = Buffer.from('~Module signature appended~\n');

/**
 * The module without Debian's appended signature: the kernel (MODULE_SIG, not forced) loads it unverified, which
 * spares the RSA check under software emulation.
 */
function unsigned(ko: Buffer): Buffer {
  if (!ko.subarray(-SIG_MARKER.length).equals(SIG_MARKER)) return ko;
  const info = ko.length - SIG_MARKER.length - 12; // struct module_signature, sig_len (big endian) last
  return ko.subarray(0, info - ko.readUInt32BE(info + 8));
}

function buildInitramfs(stage: string, modules: string[], out: string): void {
  for (const d of [
    'proc',
    'sys',
    'dev',
    'run',
    'tmp',
    'usr',
    'etc',
    'mnt',
    'var',
    'bb',
    'lab/mod',
    'lab/out',
  ])
    mkdirSync(join(stage, d), { recursive: true });
  for (const [name, target] of usrLinks()) symlinkSync(target, join(stage, name));
  symlinkSync('../run', join(stage, 'var/run'));
  copyFileSync(BUSYBOX, join(stage, 'bb/busybox'));
  chmodSync(join(stage, 'bb/busybox'), 0o755);
  copyFileSync(join(HERE, 'init.sh'), join(stage, 'init'));
  chmodSync(join(stage, 'init'), 0o755);
  modules.forEach((f, i) =>
    writeFileSync(
      join(stage, 'lab/mod', `${String(i).padStart(2, '0')}-${basename(f)}`),
      unsigned(readFileSync(f)),
    ),
  );
  // newc cpio, uncompressed: the guest unpacks it without a decompressor (faster under TCG).
  run('sh', ['-c', `find . -print0 | cpio --null --quiet -o -H newc > '${out}'`], stage);
}

/** The cached images for the current inputs, building them first when needed. */
export function guestImages(): GuestImages {
  const key = imageKey();
  const dir = join(CACHE, 'images', key);
  const vmlinux = join(dir, 'vmlinux');
  const initramfs = join(dir, 'initramfs.cpio');
  if (existsSync(join(dir, 'ready'))) return { vmlinux, initramfs, built: false };
  if (!existsSync(BUSYBOX))
    throw new Error(`vlan-lab: ${BUSYBOX} is missing; install busybox-static (scripts/apt/vlan-lab.txt)`);

  const deb = kernelDeb();
  const work = join(CACHE, `.build-${key}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const root = join(work, 'root');
    run('dpkg-deb', ['-x', deb, root]);
    const release = readdirSync(join(root, 'lib/modules'))[0];
    if (!release) throw new Error(`vlan-lab: ${deb} holds no modules`);
    run('depmod', ['-b', root, release]);
    const out = join(work, 'out');
    mkdirSync(out);
    decompressKernel(join(root, 'boot', `vmlinuz-${release}`), join(out, 'vmlinux'));
    buildInitramfs(join(work, 'stage'), moduleFiles(root, release), join(out, 'initramfs.cpio'));
    writeFileSync(join(out, 'ready'), JSON.stringify({ ...KERNEL, release, modules: MODULES }) + '\n');
    // Only the current images are kept; a concurrent build of the same key may have won the rename.
    mkdirSync(join(CACHE, 'images'), { recursive: true });
    for (const old of readdirSync(join(CACHE, 'images')))
      if (old !== key) rmSync(join(CACHE, 'images', old), { recursive: true, force: true });
    try {
      renameSync(out, dir);
    } catch (e) {
      if (!existsSync(join(dir, 'ready'))) throw e;
    }
    return { vmlinux, initramfs, built: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
