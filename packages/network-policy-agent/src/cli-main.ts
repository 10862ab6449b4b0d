// `aws-eks-na-cli` / `aws-eks-na-cli-v6`: inspect the pinned eBPF state on a node (see README.md). Being built.
export async function main(_argv: string[], _ipv6: boolean): Promise<number> {
  process.stderr.write('aws-eks-na-cli: not built yet in this version\n');
  return 1;
}
