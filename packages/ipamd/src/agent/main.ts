// `aws-k8s-agent` program: starts ipamd, exits cleanly on SIGTERM/SIGINT.
import { writeSync } from 'node:fs';
import { loadIpamdConfig } from '@vpc-cni/shared/config';
import { createLogger } from '@vpc-cni/shared/logging';
import { VERSION } from '@vpc-cni/shared/version';
import { startAgent } from './agent.js';

export async function main(argv: string[]): Promise<number> {
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
  try {
    const cfg = loadIpamdConfig(process.env);
    logger = createLogger({
      level: cfg.AWS_VPC_K8S_CNI_LOGLEVEL,
      file: cfg.AWS_VPC_K8S_CNI_LOG_FILE,
      name: 'ipamd',
    });
  } catch (e) {
    writeSync(2, `aws-k8s-agent: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  try {
    const agent = await startAgent(process.env, logger);
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
    const msg = e instanceof Error ? e.message : String(e);
    logger.error({ err: e }, 'ipamd failed to start');
    logger.flush();
    writeSync(2, `aws-k8s-agent: failed to start: ${msg}\n`);
    return 1;
  }
}
