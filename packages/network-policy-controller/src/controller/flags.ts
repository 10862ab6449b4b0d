// Flags of `network-policy-controller` (names as upstream's controller; README: "Flags").
export interface ControllerFlags {
  kubeconfig: string;
  chunkSize: number;
  batchMs: number;
  logLevel: string;
  healthProbeBindAddr: string;
  metricsBindAddr: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
}

export class FlagError extends Error {}

export const usage = (): string =>
  `usage: network-policy-controller [flags]
  --kubeconfig PATH                          kubeconfig (default: $KUBECONFIG, else in-cluster)
  --endpoint-chunk-size N                    max entries per list of one PolicyEndpoint (default 200)
  --pod-update-batch-period-duration D       batch window for pod/namespace/service changes (default 500ms)
  --log-level LEVEL                          debug|info|warn|error (default info)
  --health-probe-bind-addr ADDR              /healthz and /readyz (default :8081; "0" disables)
  --leader-elect[=BOOL]                      elect a leader over a Lease before writing (default true)
  --leader-election-namespace NS             namespace of the Lease (default kube-system)
  --metrics-bind-addr ADDR                   Prometheus /metrics (default :8080; "0" disables)
  --version                                  print the version
`;

/** Go-style duration: 1s, 500ms, 2m, 1m30s. */
export function parseDuration(v: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let ms = 0;
  let m: RegExpExecArray | null;
  let seen = 0;
  while ((m = re.exec(v))) {
    const unit = m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 3_600_000;
    ms += Number(m[1]) * unit;
    seen = re.lastIndex;
  }
  if (v === '' || seen !== v.length) throw new FlagError(`invalid duration "${v}" (use e.g. 1s, 500ms, 2m)`);
  return ms;
}

export function parseFlags(argv: readonly string[]): ControllerFlags {
  const f: ControllerFlags = {
    kubeconfig: '',
    chunkSize: 200,
    // Upstream's 1 s window is the floor of every label → enforcement delay (issue 17's target is p99 ≤ 1 s):
    // half of it, see the package README (Flags).
    batchMs: 500,
    logLevel: 'info',
    healthProbeBindAddr: ':8081',
    metricsBindAddr: ':8080',
    leaderElect: true,
    leaderElectionNamespace: 'kube-system',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq >= 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new FlagError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--kubeconfig':
        f.kubeconfig = value();
        break;
      case '--endpoint-chunk-size': {
        const v = value();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 1)
          throw new FlagError(`--endpoint-chunk-size must be a whole number ≥ 1, got "${v}"`);
        f.chunkSize = n;
        break;
      }
      case '--pod-update-batch-period-duration':
        f.batchMs = parseDuration(value());
        break;
      case '--log-level': {
        const v = value();
        if (!['debug', 'info', 'warn', 'error'].includes(v))
          throw new FlagError(`--log-level must be debug, info, warn or error, got "${v}"`);
        f.logLevel = v;
        break;
      }
      case '--leader-elect': {
        const v = eq >= 0 ? arg.slice(eq + 1) : 'true';
        if (v !== 'true' && v !== 'false')
          throw new FlagError(`--leader-elect must be true or false, got "${v}"`);
        f.leaderElect = v === 'true';
        break;
      }
      case '--leader-election-namespace':
        f.leaderElectionNamespace = value();
        break;
      case '--metrics-bind-addr':
        f.metricsBindAddr = value();
        break;
      case '--health-probe-bind-addr':
        f.healthProbeBindAddr = value();
        break;
      default:
        throw new FlagError(`unknown flag ${name} (see --help)`);
    }
  }
  return f;
}
