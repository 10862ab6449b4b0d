// Timing and faults for the EC2 endpoint: per-action latency, attach/detach completion delays, token-bucket
// throttling (RequestLimitExceeded), random or queued error injection, denied actions (UnauthorizedOperation),
// and a per-action call log. All of it is plain mutable config, changed by tests directly or over the admin API.
import { Ec2Error, throttled, unauthorized } from './errors.js';

export interface Bucket {
  /** Tokens added per second. */
  rate: number;
  /** Bucket size (burst). */
  burst: number;
}

export interface InjectedError {
  code: string;
  message?: string;
  status?: number;
}

export interface FaultConfig {
  /** Response latency per action in ms; key `*` is the default. */
  latencyMs: Record<string, number>;
  /** Latencies of the next calls of an action, in order, instead of latencyMs (a slow EC2 for a while). */
  latencyNextMs: Record<string, number[]>;
  /** Time from AttachNetworkInterface until the attachment is `attached` (and hot-plug listeners have run). */
  attachDelayMs: number;
  /** Time from DetachNetworkInterface until the ENI is `available`. */
  detachDelayMs: number;
  /** Token buckets per action; key `*` applies to actions without their own. */
  throttle: Record<string, Bucket>;
  /** Probability (0..1) per action that a call fails with the given error (default InternalError/500). */
  errorRate: Record<string, { rate: number } & Partial<InjectedError>>;
  /** Errors returned by the next calls of an action, in order (deterministic fault injection). */
  failNext: Record<string, InjectedError[]>;
  /** Actions answered with UnauthorizedOperation (IAM policy missing). */
  deny: string[];
  /**
   * Crash hook: the next N calls of an action take effect but the connection is dropped before the reply (as if
   * the caller crashed or the network failed mid-call); ipamd must then find e.g. the created ENI by its tags.
   */
  dropReplyNext: Record<string, number>;
}

export const zeroTiming = (): FaultConfig => ({
  latencyMs: {},
  latencyNextMs: {},
  attachDelayMs: 0,
  detachDelayMs: 0,
  throttle: {},
  errorRate: {},
  failNext: {},
  deny: [],
  dropReplyNext: {},
});

/** Delays close to what real EC2 shows (create ~300 ms, assign ~200 ms, attach visible after ~1.5 s). */
export const realisticTiming = (): FaultConfig => ({
  ...zeroTiming(),
  latencyMs: {
    '*': 100,
    CreateNetworkInterface: 300,
    AssignPrivateIpAddresses: 200,
    UnassignPrivateIpAddresses: 150,
    AssignIpv6Addresses: 200,
    AttachNetworkInterface: 250,
    DetachNetworkInterface: 250,
    DeleteNetworkInterface: 200,
  },
  attachDelayMs: 1500,
  detachDelayMs: 1500,
});

export interface CallRecord {
  action: string;
  at: number;
  /** `OK` or the error code returned. */
  outcome: string;
  /** The caller's User-Agent header. */
  userAgent?: string;
  params: Record<string, string>;
}

export class Faults {
  config: FaultConfig;
  readonly calls: CallRecord[] = [];
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    config: Partial<FaultConfig> = {},
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.config = { ...zeroTiming(), ...config };
  }

  latency(action: string): number {
    const next = this.config.latencyNextMs[action]?.shift();
    if (next !== undefined) return next;
    return this.config.latencyMs[action] ?? this.config.latencyMs['*'] ?? 0;
  }

  /** Throws the error this call must fail with, if any (checked before the action runs). */
  admit(action: string): void {
    if (this.config.deny.includes(action)) throw unauthorized(action);
    const queued = this.config.failNext[action];
    if (queued && queued.length > 0) {
      const e = queued.shift()!;
      throw new Ec2Error(e.code, e.message ?? `Injected ${e.code}`, e.status ?? 400);
    }
    const bucketKey = this.config.throttle[action] ? action : this.config.throttle['*'] ? '*' : undefined;
    if (bucketKey) {
      const cfg = this.config.throttle[bucketKey]!;
      const t = this.now();
      const b = this.buckets.get(bucketKey) ?? { tokens: cfg.burst, at: t };
      b.tokens = Math.min(cfg.burst, b.tokens + ((t - b.at) / 1000) * cfg.rate);
      b.at = t;
      this.buckets.set(bucketKey, b);
      if (b.tokens < 1) throw throttled();
      b.tokens -= 1;
    }
    const er = this.config.errorRate[action] ?? this.config.errorRate['*'];
    if (er && this.random() < er.rate)
      throw new Ec2Error(
        er.code ?? 'InternalError',
        er.message ?? 'An internal error has occurred',
        er.status ?? 500,
      );
  }

  /** True (and counts down) when this call's reply must be dropped after the action ran. */
  dropReply(action: string): boolean {
    const n = this.config.dropReplyNext[action] ?? 0;
    if (n <= 0) return false;
    this.config.dropReplyNext[action] = n - 1;
    return true;
  }

  record(action: string, outcome: string, params: Record<string, string>, userAgent?: string): void {
    this.calls.push({ action, at: this.now(), outcome, params, ...(userAgent ? { userAgent } : {}) });
  }

  /** Calls per action (all outcomes). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.calls) out[c.action] = (out[c.action] ?? 0) + 1;
    return out;
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  /** Apply a partial config (admin API / tests); buckets restart full. */
  update(patch: Partial<FaultConfig>): void {
    this.config = { ...this.config, ...patch };
    this.buckets.clear();
  }
}
