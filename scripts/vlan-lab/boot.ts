// Boots the VLAN lab guest under QEMU (TCG: no KVM on this VM) with host directories shared over 9p, waits for
// it to power off or for the overall timeout, and decodes the exit code init passed through isa-debug-exit.
import { spawn } from 'node:child_process';
import type { GuestImages } from './images.js';

export interface Share {
  tag: string;
  path: string;
  readonly: boolean;
}

export interface BootResult {
  /** run.sh's exit code; undefined when the guest did not report one (panic, timeout, QEMU failure). */
  rc: number | undefined;
  qemuExit: number | null;
  timedOut: boolean;
  /** Serial console (kernel messages and init's progress lines), last 64 KiB. */
  console: string;
  /** From QEMU start to init's first line, host clock. */
  bootMs: number | undefined;
  totalMs: number;
}

const CONSOLE_MAX = 64 << 10;

export function qemuArgs(images: GuestImages, shares: Share[]): string[] {
  const args = [
    '-M',
    'pc',
    '-accel',
    'tcg',
    '-cpu',
    'max',
    '-smp',
    '2',
    '-m',
    '1024',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-kernel',
    images.vmlinux,
    '-initrd',
    images.initramfs,
    '-append',
    'console=ttyS0 quiet loglevel=3 panic=-1 oops=panic',
    '-device',
    'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ];
  for (const s of shares)
    args.push(
      '-virtfs',
      `local,path=${s.path},mount_tag=${s.tag},security_model=none,multidevs=remap${s.readonly ? ',readonly=on' : ''}`,
    );
  return args;
}

/** Runs the guest to completion; never leaves the QEMU process behind. */
export function bootGuest(images: GuestImages, shares: Share[], timeoutMs: number): Promise<BootResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-system-x86_64', qemuArgs(images, shares), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let bootMs: number | undefined;
    let timedOut = false;
    const onData = (d: Buffer) => {
      out = (out + d.toString('utf8')).slice(-CONSOLE_MAX);
      if (bootMs === undefined && out.includes('vlan-lab: init')) bootMs = performance.now() - t0;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      process.off('exit', kill);
      reject(new Error(`vlan-lab: cannot start qemu-system-x86_64 (scripts/apt/vlan-lab.txt): ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      process.off('exit', kill);
      // isa-debug-exit: QEMU exits with (value << 1) | 1; 0 means the guest stopped without writing it.
      const rc = !timedOut && code !== null && code % 2 === 1 ? (code - 1) / 2 : undefined;
      resolve({ rc, qemuExit: code, timedOut, console: out, bootMs, totalMs: performance.now() - t0 });
    });
  });
}
