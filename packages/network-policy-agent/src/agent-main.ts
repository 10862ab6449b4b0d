// `aws-network-policy-agent`: the node agent (see README.md). Being built; refuses to run until it is.
export async function main(_argv: string[]): Promise<number> {
  process.stderr.write('aws-network-policy-agent: not built yet in this version\n');
  return 1;
}
