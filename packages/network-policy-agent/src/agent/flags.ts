// Command-line flags of aws-network-policy-agent: upstream's names and defaults (Go pflag syntax: `--name=value`,
// `--name value`, a bare `--name` for booleans), plus a few of ours for tests (listed last). Pure: argv in,
// typed settings or a FlagError naming flag, value and what is accepted. The table is in the package README.
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

type Kind =
  | { t: 'bool' }
  | { t: 'int'; min: number; max: number }
  | { t: 'string' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'bind' };

interface FlagDef {
  kind: Kind;
  default: string;
}

const bool = (d: boolean): FlagDef => ({ kind: { t: 'bool' }, default: String(d) });
const int = (d: number, min: number, max: number): FlagDef => ({
  kind: { t: 'int', min, max },
  default: String(d),
});
const str = (d: string): FlagDef => ({ kind: { t: 'string' }, default: d });

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export const DEFAULT_LOG_FILE = '/var/log/aws-routed-eni/network-policy-agent.log';
export const DEFAULT_NPA_SOCKET = '/var/run/aws-node/npa.sock';

export const FLAGS = {
  'enable-network-policy': bool(false),
  'enable-ipv6': bool(false),
  'enable-policy-event-logs': bool(false),
  'enable-cloudwatch-logs': bool(false),
  'log-level': { kind: { t: 'enum', values: LOG_LEVELS }, default: 'debug' },
  'log-file': str(DEFAULT_LOG_FILE),
  'log-file-max-size': int(200, 1, 1_000_000),
  'log-file-max-backups': int(8, 0, 10_000),
  'max-concurrent-reconciles': int(3, 1, 1_000),
  'conntrack-cache-cleanup-period': int(300, 2, 86_400),
  'conntrack-cache-table-size': int(524_288, 32_768, 1_048_576),
  'metrics-bind-addr': { kind: { t: 'bind' }, default: ':8162' },
  'health-probe-bind-addr': { kind: { t: 'bind' }, default: ':8163' },
  kubeconfig: str(''),
  'enable-profiling': bool(false),
  'aws-region': str(''),
  'aws-account-id': str(''),
  // ours
  'npa-socket': str(DEFAULT_NPA_SOCKET),
  'npa-tcp-address': str('127.0.0.1:50052'),
  'ipamd-socket': str('/var/run/aws-node/ipamd.sock'),
  'bpffs-root': str('/sys/fs/bpf'),
} as const satisfies Record<string, FlagDef>;

export type FlagName = keyof typeof FLAGS;

export interface AgentFlags {
  enableNetworkPolicy: boolean;
  enableIpv6: boolean;
  enablePolicyEventLogs: boolean;
  enableCloudwatchLogs: boolean;
  logLevel: (typeof LOG_LEVELS)[number];
  logFile: string;
  logFileMaxSizeMb: number;
  logFileMaxBackups: number;
  maxConcurrentReconciles: number;
  conntrackCacheCleanupPeriodS: number;
  conntrackCacheTableSize: number;
  metricsBindAddr: string;
  healthProbeBindAddr: string;
  kubeconfig: string;
  awsRegion: string;
  awsAccountId: string;
  npaSocket: string;
  /** '' = no TCP listener. */
  npaTcpAddress: string;
  ipamdSocket: string;
  bpffsRoot: string;
}

const TRUE = ['1', 't', 'T', 'true', 'TRUE', 'True'];
const FALSE = ['0', 'f', 'F', 'false', 'FALSE', 'False'];

function accepted(k: Kind): string {
  switch (k.t) {
    case 'bool':
      return 'true or false';
    case 'int':
      return `an integer from ${k.min} to ${k.max}`;
    case 'string':
      return 'any string';
    case 'enum':
      return `one of ${k.values.join(', ')}`;
    case 'bind':
      return '"[host]:port" with port 0-65535';
  }
}

function check(name: string, k: Kind, value: string): string | number | boolean {
  const bad = () => new FlagError(`invalid value "${value}" for flag --${name}: expected ${accepted(k)}`);
  switch (k.t) {
    case 'bool':
      if (TRUE.includes(value)) return true;
      if (FALSE.includes(value)) return false;
      throw bad();
    case 'int': {
      if (!/^-?\d+$/.test(value)) throw bad();
      const n = Number(value);
      if (n < k.min || n > k.max) throw bad();
      return n;
    }
    case 'string':
      return value;
    case 'enum': {
      const v = value.toLowerCase();
      if (!k.values.includes(v)) throw bad();
      return v;
    }
    case 'bind': {
      const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):(\d{1,5})$/.exec(value);
      if (!m || Number(m[2]) > 65535) throw bad();
      return value;
    }
  }
}

/** Parses argv (without the program name). Unknown flags and positional arguments are errors. */
export function parseFlags(argv: readonly string[]): AgentFlags {
  const raw = new Map<FlagName, string | number | boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--?([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new FlagError(`unexpected argument "${arg}": flags look like --name=value`);
    const name = m[1] as string;
    if (!(name in FLAGS)) throw new FlagError(`unknown flag --${name} (see aws-network-policy-agent --help)`);
    const def = FLAGS[name as FlagName] as FlagDef;
    let value = m[2];
    if (value === undefined) {
      if (def.kind.t === 'bool') value = 'true';
      else {
        value = argv[++i];
        if (value === undefined) throw new FlagError(`flag --${name} needs a value: ${accepted(def.kind)}`);
      }
    }
    raw.set(name as FlagName, check(name, def.kind, value));
  }
  const get = <T>(n: FlagName): T =>
    (raw.get(n) ?? check(n, (FLAGS[n] as FlagDef).kind, FLAGS[n].default)) as T;
  const flags: AgentFlags = {
    enableNetworkPolicy: get('enable-network-policy'),
    enableIpv6: get('enable-ipv6'),
    enablePolicyEventLogs: get('enable-policy-event-logs'),
    enableCloudwatchLogs: get('enable-cloudwatch-logs'),
    logLevel: get('log-level'),
    logFile: get('log-file'),
    logFileMaxSizeMb: get('log-file-max-size'),
    logFileMaxBackups: get('log-file-max-backups'),
    maxConcurrentReconciles: get('max-concurrent-reconciles'),
    conntrackCacheCleanupPeriodS: get('conntrack-cache-cleanup-period'),
    conntrackCacheTableSize: get('conntrack-cache-table-size'),
    metricsBindAddr: get('metrics-bind-addr'),
    healthProbeBindAddr: get('health-probe-bind-addr'),
    kubeconfig: get('kubeconfig'),
    awsRegion: get('aws-region'),
    awsAccountId: get('aws-account-id'),
    npaSocket: get('npa-socket'),
    npaTcpAddress: get('npa-tcp-address'),
    ipamdSocket: get('ipamd-socket'),
    bpffsRoot: get('bpffs-root'),
  };
  if (get<boolean>('enable-profiling'))
    throw new FlagError(
      'invalid value "true" for flag --enable-profiling: this agent has no pprof endpoint; accepted: false ' +
        '(profile with node --cpu-prof instead)',
    );
  if (flags.enableCloudwatchLogs && !flags.enablePolicyEventLogs)
    throw new FlagError(
      'invalid value "true" for flag --enable-cloudwatch-logs: it needs --enable-policy-event-logs=true ' +
        '(CloudWatch receives the flow events that flag turns on)',
    );
  return flags;
}

export function usage(): string {
  const lines = Object.entries(FLAGS).map(
    ([n, d]) => `  --${n}=${d.default === '' ? '""' : d.default}  (${accepted((d as FlagDef).kind)})`,
  );
  return `Usage: aws-network-policy-agent [flags]\n${lines.join('\n')}\n`;
}
