// What a log line says about an error (`log.error({ err }, '...')`): the fields of pino's standard error
// serializer (type, message, stack, the error's own enumerable properties such as a Node system error's `code`,
// `errno`, `syscall`, `path`), the AWS request id of an AWS SDK error (`$metadata.requestId`, the id AWS support
// asks for) and the `cause` chain. Free of pino so the CNI plugin's small logger uses it too.

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: unknown;
  /** AWS SDK v3 errors: the request id from `$metadata`. */
  requestId?: string;
  /** AWS SDK v3 errors: the HTTP status of the failed call. */
  httpStatusCode?: number;
  cause?: SerializedError;
  [key: string]: unknown;
}

const SKIP = new Set(['name', 'message', 'stack', 'cause', '$metadata', '$response', '$fault', '$service']);

function own(e: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(e, key) ? (e as Record<string, unknown>)[key] : undefined;
}

function describe(v: unknown): string {
  try {
    return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** Serializes an Error (or any thrown value) for a JSON log line; depth-limited along `cause`. */
export function serializeError(e: unknown, depth = 0): SerializedError {
  if (!(e instanceof Error)) return { type: typeof e, message: describe(e) };
  const out: SerializedError = { type: e.name || e.constructor.name, message: e.message };
  if (e.stack) out.stack = e.stack;
  for (const key of Object.keys(e)) {
    if (SKIP.has(key)) continue;
    const v = own(e, key);
    if (typeof v !== 'function') out[key] = v;
  }
  const meta = own(e, '$metadata');
  if (typeof meta === 'object' && meta !== null) {
    const { requestId, httpStatusCode } = meta as { requestId?: unknown; httpStatusCode?: unknown };
    if (typeof requestId === 'string') out.requestId = requestId;
    if (typeof httpStatusCode === 'number') out.httpStatusCode = httpStatusCode;
  }
  if (e.cause !== undefined && depth < 5) out.cause = serializeError(e.cause, depth + 1);
  return out;
}
