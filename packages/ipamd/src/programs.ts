// The programs of the daemon-side multi-call executable (see main.ts), each loaded only when called. Kept apart
// from main.ts so tests and the image layout can list the names without running the dispatcher.
export type Main = (argv: string[]) => Promise<number>;

/**
 * A long-running program: free malloc memory is handed back to the kernel while it runs (malloc-trim.ts), and the
 * executable's pages that start-up touched are unmapped once it has started (exe-pages.ts).
 */
const daemon = (load: () => Promise<Main>) => async (): Promise<Main> => {
  const [main, { startMallocTrim }, { startExePageRelease }] = await Promise.all([
    load(),
    import('./malloc-trim.js'),
    import('./exe-pages.js'),
  ]);
  return (argv) => {
    startMallocTrim();
    startExePageRelease([3_000, 15_000]);
    return main(argv);
  };
};

export const programs: Record<string, () => Promise<Main>> = {
  'aws-k8s-agent': daemon(async () => (await import('./agent/main.js')).main),
  'aws-vpc-cni': async () => (await import('./entrypoint/main.js')).main,
  'aws-vpc-cni-init': async () => (await import('@vpc-cni/init/cli')).main,
  'grpc-health-probe': async () => (await import('./probe/main.js')).main,
  'max-pods-calculator': async () => (await import('./max-pods/main.js')).main,
  // The network policy agent and its inspection CLI (packages/network-policy-agent).
  'aws-network-policy-agent': daemon(
    async () => (await import('@vpc-cni/network-policy-agent/agent-main')).main,
  ),
  'aws-eks-na-cli': async () => {
    const { main } = await import('@vpc-cni/network-policy-agent/cli-main');
    return (argv) => main(argv, false);
  },
  'aws-eks-na-cli-v6': async () => {
    const { main } = await import('@vpc-cni/network-policy-agent/cli-main');
    return (argv) => main(argv, true);
  },
  // The PolicyEndpoint controller (packages/network-policy-controller).
  'network-policy-controller': daemon(
    async () => (await import('@vpc-cni/network-policy-controller/main')).main,
  ),
};

/** The names the executable answers to, in the order `--list-programs` prints them. */
export const programNames = (): string[] => Object.keys(programs);
