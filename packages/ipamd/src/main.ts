// Multi-call entry of the daemon-side single executable: aws-k8s-agent (ipamd), aws-vpc-cni (node entrypoint)
// and aws-vpc-cni-init are one file installed under three names; the name it is called by picks the program.
import { basename } from 'node:path';

type Main = (argv: string[]) => Promise<number>;

const programs: Record<string, () => Promise<Main>> = {
  'aws-k8s-agent': async () => (await import('./agent/main.js')).main,
  'aws-vpc-cni': async () => (await import('./entrypoint/main.js')).main,
  'aws-vpc-cni-init': async () => (await import('@vpc-cni/init/cli')).main,
  'aws-network-policy-agent': async () => (await import('@vpc-cni/network-policy-agent/agent-main')).main,
  'aws-eks-na-cli': async () => {
    const { main } = await import('@vpc-cni/network-policy-agent/cli-main');
    return (argv) => main(argv, false);
  },
  'aws-eks-na-cli-v6': async () => {
    const { main } = await import('@vpc-cni/network-policy-agent/cli-main');
    return (argv) => main(argv, true);
  },
};

async function dispatch(): Promise<number> {
  let name = basename(process.argv0);
  let args = process.argv.slice(2);
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
