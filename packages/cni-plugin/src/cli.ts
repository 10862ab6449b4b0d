// aws-cni entry: what main.ts calls. Reads env and stdin, runs one command, writes the result to stdout and
// sets the exit code. Command modules (and the gRPC client) are loaded only when a command needs them.
import { VERSION } from '@vpc-cni/shared/version';
import { run } from './run.js';
import { readStdin, writeAll } from './stdio.js';

/** Log destination from the config, read leniently (a bad config is reported by the dispatcher). */
function logTarget(stdin: string): { file: string; level: string } {
  try {
    const o = JSON.parse(stdin) as { pluginLogFile?: unknown; pluginLogLevel?: unknown };
    return {
      file: typeof o.pluginLogFile === 'string' ? o.pluginLogFile : '',
      level: typeof o.pluginLogLevel === 'string' ? o.pluginLogLevel.toLowerCase() : 'debug',
    };
  } catch {
    return { file: '', level: 'debug' };
  }
}

export async function main(): Promise<number> {
  const [{ createFileLogger }, { realDeps }] = await Promise.all([
    import('./log.js'),
    import('./deps-real.js'),
  ]);
  const out = await run(process.env, readStdin, (env, stdin) => {
    const t = logTarget(stdin);
    const level =
      (['debug', 'info', 'warn', 'error', 'fatal'] as const).find((l) => l === t.level) ?? 'debug';
    const logger = createFileLogger(t.file, level, { caller: 'aws-cni', containerId: env.containerId });
    // Kernel tests inject a failure at the n-th kernel operation (never set in production).
    const failAt = Number(process.env['AWS_CNI_TEST_FAIL_AT_OP'] ?? 0);
    return realDeps(VERSION, logger, Number.isInteger(failAt) ? failAt : 0);
  });
  if (out.stderr) writeAll(2, out.stderr);
  if (out.stdout) writeAll(1, out.stdout);
  return out.exitCode;
}
