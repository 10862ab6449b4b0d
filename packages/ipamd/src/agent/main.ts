// `aws-k8s-agent` program: starts ipamd, exits cleanly on SIGTERM/SIGINT.
import { writeSync } from 'node:fs';
import { loadIpamdConfig } from '@vpc-cni/shared/config';
import { createLogger } from '@vpc-cni/shared/logging';
import { explainStartupFailure, startupFailureLine } from '@vpc-cni/shared/startup';
import { VERSION } from '@vpc-cni/shared/version';
import { startAgent } from './agent.js';

export async function main(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  if (argv.includes('--version')) {
    writeSync(1, `${VERSION}\n`);
    return 0;
  }
  if (argv.includes('--help')) {
    writeSync(
      1,
      `aws-k8s-agent ${VERSION}: ipamd, assigns VPC addresses to pods (gRPC on VPC_CNI_IPAMD_SOCKET).\n`,
    );
    return 0;
  }
  let logger;
  let logFile: string;
  try {
    const cfg = loadIpamdConfig(env);
    logFile = cfg.AWS_VPC_K8S_CNI_LOG_FILE;
    logger = createLogger({
      level: cfg.AWS_VPC_K8S_CNI_LOGLEVEL,
      file: cfg.AWS_VPC_K8S_CNI_LOG_FILE,
      name: 'ipamd',
    });
  } catch (e) {
    // Bad configuration: no logger yet, the one line goes to stderr.
    writeSync(2, `${startupFailureLine('aws-k8s-agent', e)}\n`);
    return 1;
  }
  try {
    const agent = await startAgent(env, logger);
    return await new Promise<number>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'shutting down');
        agent.stop().then(
          () => resolve(0),
          () => resolve(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  } catch (e) {
    // Everything started is released by now (startAgent): one line with the cause and the remedy, exit 1.
    const { cause, remedy } = explainStartupFailure(e);
    logger.error({ err: e, cause, remedy }, startupFailureLine('ipamd', e));
    logger.flush();
    // The log is a file by default; the container's own output (kubectl logs) gets the same line.
    if (logFile !== 'stdout' && logFile !== 'stderr')
      writeSync(2, `${startupFailureLine('aws-k8s-agent', e)}\n`);
    return 1;
  }
}
