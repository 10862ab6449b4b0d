// The programs of the daemon-side multi-call executable (see main.ts), each loaded only when called. Kept apart
// from main.ts so tests and the image layout can list the names without running the dispatcher.
export type Main = (argv: string[]) => Promise<number>;

const notBuilt =
  (name: string): Main =>
  async () => {
    process.stderr.write(`${name}: the network policy agent is not part of this build of vpc-cni-ts\n`);
    return 1;
  };

export const programs: Record<string, () => Promise<Main>> = {
  'aws-k8s-agent': async () => (await import('./agent/main.js')).main,
  'aws-vpc-cni': async () => (await import('./entrypoint/main.js')).main,
  'aws-vpc-cni-init': async () => (await import('@vpc-cni/init/cli')).main,
  'grpc-health-probe': async () => (await import('./probe/main.js')).main,
  'max-pods-calculator': async () => (await import('./max-pods/main.js')).main,
  // The network policy agent's names (the image and deploy/aws-k8s-cni.yaml use them); refused until the agent
  // is part of this executable.
  'aws-network-policy-agent': async () => notBuilt('aws-network-policy-agent'),
  'aws-eks-na-cli': async () => notBuilt('aws-eks-na-cli'),
  'aws-eks-na-cli-v6': async () => notBuilt('aws-eks-na-cli-v6'),
};

/** The names the executable answers to, in the order `--list-programs` prints them. */
export const programNames = (): string[] => Object.keys(programs);
