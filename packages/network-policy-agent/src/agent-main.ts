// `aws-network-policy-agent`: the node agent (see README.md). Flags → logger → runAgent; a bad flag or a failed
// start exits non-zero with one line naming the cause; SIGTERM stops it cleanly (pins stay: the kernel keeps
// enforcing while the agent is down).
import { createLogger } from '@vpc-cni/shared/logging';
import { openDatapath } from './agent/datapath-open.js';
import { FlagError, parseFlags, usage } from './agent/flags.js';
import { FatalStartError, runAgent } from './agent/run.js';
import { rotateWhenLarge } from './agent/log-rotate.js';

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage());
    return 0;
  }
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`aws-network-policy-agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const file = flags.logFile === '' ? 'stderr' : flags.logFile;
  const logger = createLogger({ level: flags.logLevel, file, name: 'aws-network-policy-agent' });
  const stopRotation =
    file === 'stdout' || file === 'stderr' ? () => {} : rotateWhenLarge(file, flags, logger);
  let agent;
  try {
    agent = await runAgent(flags, { env: process.env, logger, openDatapath });
  } catch (err) {
    const line =
      err instanceof FatalStartError ? err.message : `unexpected start-up failure: ${(err as Error).message}`;
    logger.error({ err }, line);
    logger.flush();
    stopRotation();
    process.stderr.write(`aws-network-policy-agent: ${line}\n`);
    return 1;
  }
  const running = agent;
  return new Promise<number>((resolve) => {
    const onSignal = (sig: string) => {
      logger.info({ signal: sig }, 'stopping');
      void running.stop().then(() => {
        stopRotation();
        logger.flush();
        resolve(0);
      });
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
}
