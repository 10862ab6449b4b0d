// Start-up failures of the daemons (ipamd, the entrypoint, init): every one becomes a single line naming the
// cause and what the operator should do, and the process exits non-zero so the kubelet restarts it.
import { ConfigErrors } from '../config/errors.js';

/** A start-up failure whose cause and remedy are known where it happened. */
export class StartupError extends Error {
  constructor(
    readonly reason: string,
    readonly remedy: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason}; ${remedy}`, options);
    this.name = 'StartupError';
  }
}

export interface StartupFailure {
  cause: string;
  remedy: string;
}

const errno = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;

/** The cause and remedy of any error thrown while a daemon starts. */
export function explainStartupFailure(e: unknown): StartupFailure {
  if (e instanceof StartupError) return { cause: e.reason, remedy: e.remedy };
  const message = e instanceof Error ? e.message.replace(/\s*\n\s*/g, ' ') : String(e);
  if (e instanceof ConfigErrors)
    return {
      cause: `bad configuration: ${message}`,
      remedy:
        'fix the named environment variable(s) of the aws-node DaemonSet (see the README configuration table)',
    };
  if (errno(e) === 'EADDRINUSE')
    return {
      cause: `address in use: ${message}`,
      remedy: 'stop the process holding the address or configure another one',
    };
  return {
    cause: message,
    remedy: 'see the error above; if it persists after a restart, report it with this log',
  };
}

/** The one line a daemon logs when it cannot start. */
export function startupFailureLine(program: string, e: unknown): string {
  const f = explainStartupFailure(e);
  return `${program} cannot start: ${f.cause}; remedy: ${f.remedy}`;
}

/** IMDS did not answer past its retries: ipamd, the entrypoint and init cannot learn the node. */
export function imdsUnreachable(endpoint: string, e: unknown): StartupError {
  return new StartupError(
    `the instance metadata service at ${endpoint} did not answer (${e instanceof Error ? e.message : String(e)})`,
    'enable the instance metadata endpoint for the instance (hop limit 2 or more for containers) or fix AWS_EC2_METADATA_SERVICE_ENDPOINT',
    { cause: e },
  );
}
