// `pnpm --filter @vpc-cni/e2e sim <world.yaml> [--ec2-port N] [--fabric]`: start a simulated world, print one JSON
// line with the EC2 endpoint and, per node, the environment its ipamd needs (with --fabric also the node's netns,
// where ENIs appear as links, and the env for an ipamd run inside it); run until Ctrl-C / SIGTERM, then tear down.
import { WorldFileError, readWorldFile } from './world-file.js';
import { runWorld } from './run-world.js';

const args = process.argv.slice(2);
const file = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--ec2-port');
const portArg = args.indexOf('--ec2-port');
if (!file) {
  console.error('usage: sim <world.yaml|json> [--ec2-port N] [--fabric]');
  process.exit(2);
}
try {
  const w = readWorldFile(file);
  const world = await runWorld(w, {
    ...(portArg >= 0 ? { ec2Port: Number(args[portArg + 1]) } : {}),
    fabric: args.includes('--fabric'),
  });
  console.log(
    JSON.stringify({ ready: true, ec2Url: world.ec2Url, admin: `${world.ec2Url}/_sim/`, nodes: world.nodes }),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`${signal}: tearing the world down`);
    world.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(String(e));
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (e) {
  console.error(e instanceof WorldFileError ? e.message : String(e));
  process.exit(e instanceof WorldFileError ? 2 : 1);
}
