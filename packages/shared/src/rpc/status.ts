// gRPC status codes (the subset of the standard list that callers branch on, plus the rest for messages).
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

const names = new Map<number, string>(Object.entries(GrpcStatus).map(([k, v]) => [v, k]));
export const grpcStatusName = (code: number): string => names.get(code) ?? `CODE_${code}`;

/** A failed RPC: the gRPC status code and message as the server (or transport) reported them. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    readonly method: string,
  ) {
    super(`${method}: ${grpcStatusName(code)}: ${details}`);
    this.name = 'RpcError';
  }
}
