// Where ipamd listens (upstream >= v1.23: the unix socket; older plugins dialled TCP on loopback).
export const DEFAULT_IPAMD_SOCKET = '/var/run/aws-node/ipamd.sock';
export const DEFAULT_IPAMD_TCP_ADDRESS = '127.0.0.1:50051';

/** The byte stream an endpoint names: a unix socket path or a TCP host and port. */
export type EndpointTarget = { socketPath: string } | { host: string; port: number };

export const ENDPOINT_FORMS =
  'unix:///path/to.sock, unix:/path/to.sock, /path/to.sock, or host:port with a port from 1 to 65535 ' +
  '(an IPv6 host in brackets)';

/** Longest unix socket path the kernel takes (sun_path holds 108 bytes with the terminating NUL). */
const SUN_PATH_MAX = 107;

/**
 * Parses an endpoint into a socket path or a TCP target, or returns why it is not one. Pure and total: the
 * reason names no value (callers quote the value with a bounded description).
 */
export function endpointTarget(endpoint: string): EndpointTarget | { error: string } {
  let path: string | undefined;
  if (endpoint.startsWith('unix://')) path = endpoint.slice('unix://'.length);
  else if (endpoint.startsWith('unix:')) path = endpoint.slice('unix:'.length);
  else if (endpoint.startsWith('/')) path = endpoint;
  if (path !== undefined) {
    if (!path.startsWith('/')) return { error: 'a unix socket path must be absolute' };
    if (path.includes('\0')) return { error: 'a unix socket path cannot contain a NUL byte' };
    if (Buffer.byteLength(path) > SUN_PATH_MAX)
      return { error: `a unix socket path is at most ${SUN_PATH_MAX} bytes` };
    return { socketPath: path };
  }
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-_]*):(\d{1,5})$/.exec(endpoint);
  if (!m) return { error: 'not a unix socket path nor host:port' };
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return { error: 'the port must be from 1 to 65535' };
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port };
}
