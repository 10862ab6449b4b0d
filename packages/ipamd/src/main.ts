// Multi-call entry of the daemon-side single executable: aws-k8s-agent (ipamd), aws-vpc-cni (node entrypoint),
// aws-vpc-cni-init, grpc-health-probe (the DaemonSet's probes) and max-pods-calculator are one file installed
// under several names (programs.ts); the name it is called by picks the program.
import { basename } from 'node:path';
import { type Main, programNames, programs } from './programs.js';

async function dispatch(): Promise<number> {
  let name = basename(process.argv0);
  let args = process.argv.slice(2);
  // `--list-programs`: the names, one a line (the image makes one hardlink per name; see docs/image.md).
  if (args[0] === '--list-programs') {
    process.stdout.write(`${programNames().join('\n')}\n`);
    return 0;
  }
  // `<any of the names> <program> ...` also works, for images that cannot hardlink (and for the entrypoint
  // starting the agent from the same file).
  if (args[0] !== undefined && args[0] in programs) {
    name = args[0];
    args = args.slice(1);
  } else if (!(name in programs)) {
    name = 'aws-k8s-agent';
  }
  const load = programs[name] as () => Promise<Main>;
  return (await load())(args);
}

dispatch().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
