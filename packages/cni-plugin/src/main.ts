// Entry of the aws-cni single executable. egress-cni is the same file under another name (hardlink), so the
// name it was called by picks the program. Everything else is loaded lazily, so VERSION stays at the start-up floor.
import { writeSync } from 'node:fs';
import { basename } from 'node:path';
import { versionInfo } from './cni/version.js';

async function selfTestFfi(): Promise<number> {
  // Proves the koffi native addon loads from the SEA asset: call libc getpid() through FFI.
  const koffi = (await import('koffi')).default;
  const getpid = koffi.load('libc.so.6').func('int getpid()') as () => number;
  const pid = getpid();
  writeSync(1, `${JSON.stringify({ ffi: 'ok', getpid: pid, matches: pid === process.pid })}\n`);
  return pid === process.pid ? 0 : 1;
}

const HELP = `aws-cni: the Amazon VPC CNI plugin (vpc-cni-ts). Called by the container runtime with CNI_COMMAND
(ADD, DEL, CHECK, VERSION, STATUS, GC) in the environment and the network config on stdin.
Flags: --version, --help.`;

async function main(): Promise<number> {
  const flag = process.argv[2];
  if (flag === '--selftest-ffi') return selfTestFfi();
  if (flag === '--version' || flag === '--help') {
    const { VERSION } = await import('@vpc-cni/shared/version');
    writeSync(1, flag === '--version' ? `${VERSION}\n` : `${HELP}\n`);
    return 0;
  }
  if (basename(process.argv0) === 'egress-cni') {
    const [{ runEgress }, { readStdin, writeAll }] = await Promise.all([
      import('./egress.js'),
      import('./stdio.js'),
    ]);
    const r = await runEgress({ env: process.env, stdin: readStdin });
    if (r.out) writeAll(1, `${r.out}\n`);
    return r.code;
  }
  // VERSION needs nothing but the version list: answer synchronously, before loading the command modules.
  if (process.env['CNI_COMMAND'] === 'VERSION') {
    writeSync(1, `${JSON.stringify(versionInfo())}\n`);
    return 0;
  }
  return (await import('./cli.js')).main();
}

// A one-shot program: exit as soon as the answer is written (stdout is flushed by then and logs are written
// synchronously) instead of waiting for sockets and timers to wind down, which costs tens of milliseconds.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Last resort: a CNI error on stdout, never a bare stack trace.
    writeSync(
      1,
      `${JSON.stringify({ cniVersion: '1.1.0', code: 999, msg: 'aws-cni crashed', details: String(err) })}\n`,
    );
    process.exit(1);
  },
);
