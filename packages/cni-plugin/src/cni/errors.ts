// CNI error object and codes (CNI spec "Error" section plus upstream's 999 for plugin logic failures).
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnv: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  SameNetns: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,
  Internal: 999,
} as const;
export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

/** A failure the plugin reports to the runtime: `msg` names the cause, `details` says what to do. */
export class CniError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly details = '',
  ) {
    super(msg);
    this.name = 'CniError';
  }

  /** The JSON object printed on stdout (details omitted when empty). */
  toJSON(cniVersion: string): Record<string, unknown> {
    const out: Record<string, unknown> = { cniVersion, code: this.code, msg: this.message };
    if (this.details) out['details'] = this.details;
    return out;
  }
}

/** Wraps any thrown value as a CniError, keeping CniErrors as they are; `prefix` is joined with ': '. */
export function asCniError(err: unknown, prefix?: string): CniError {
  if (err instanceof CniError) {
    return prefix ? new CniError(err.code, `${prefix}: ${err.message}`, err.details) : err;
  }
  const text = err instanceof Error ? err.message : String(err);
  return new CniError(CniCode.Internal, prefix ? `${prefix}: ${text}` : text);
}
