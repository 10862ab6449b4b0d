// Command line of the `grpc-health-probe` program (the DaemonSet's liveness and readiness probes; docs/image.md):
// the flags and exit codes of the grpc-health-probe tool upstream's image ships, so the manifest's probes read
// the same. Pure: argv in, options or a usage error out.
export interface ProbeOptions {
  /** `unix:///path`, `unix:/path`, `/path` or `host:port` (`:port` means localhost). */
  readonly addr: string;
  readonly service: string;
  readonly connectTimeoutMs: number;
  readonly rpcTimeoutMs: number;
}

/** Exit codes of grpc-health-probe. */
export const ProbeExit = {
  OK: 0,
  INVALID_ARGUMENTS: 1,
  CONNECTION_FAILURE: 2,
  RPC_FAILURE: 3,
  UNHEALTHY: 4,
} as const;

export class UsageError extends Error {}

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go duration syntax, as the flags take it: `5s`, `500ms`, `1m30s`. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) break;
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    at = re.lastIndex;
  }
  if (text.length === 0 || at !== text.length)
    throw new UsageError(`invalid duration "${text}": expected a number and a unit, e.g. 5s or 500ms`);
  return total;
}

export function parseProbeArgs(argv: readonly string[]): ProbeOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--?([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new UsageError(`unexpected argument "${arg}"`);
    const name = m[1] as string;
    if (!['addr', 'service', 'connect-timeout', 'rpc-timeout'].includes(name))
      throw new UsageError(`unknown flag -${name} (flags: -addr, -service, -connect-timeout, -rpc-timeout)`);
    let value = m[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined) throw new UsageError(`flag -${name} needs a value`);
      i++;
    }
    values.set(name, value);
  }
  const addr = values.get('addr');
  if (!addr) throw new UsageError('-addr is required (e.g. -addr=unix:///var/run/aws-node/ipamd.sock)');
  return {
    addr: addr.startsWith(':') ? `localhost${addr}` : addr,
    service: values.get('service') ?? '',
    connectTimeoutMs: parseDuration(values.get('connect-timeout') ?? '1s'),
    rpcTimeoutMs: parseDuration(values.get('rpc-timeout') ?? '1s'),
  };
}
