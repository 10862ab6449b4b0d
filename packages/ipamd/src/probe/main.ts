// `grpc-health-probe` program: one grpc.health.v1 Check against ipamd (unix socket or TCP), with the output and
// exit codes of the tool upstream's image ships (see args.ts).
import { writeSync } from 'node:fs';
import { connect } from 'node:net';
import { GrpcStatus, Health, parseEndpoint, RpcClient, RpcError, ServingStatus } from '@vpc-cni/shared/rpc';
import { parseProbeArgs, ProbeExit, type ProbeOptions, UsageError } from './args.js';

const statusName = (s: ServingStatus): string => ServingStatus[s] ?? String(s);

/** Opens and closes one connection, so a refused or missing endpoint is a connection failure (exit 2). */
function canConnect(addr: string, timeoutMs: number): Promise<string | undefined> {
  const ep = parseEndpoint(addr);
  return new Promise((resolve) => {
    const sock =
      'socketPath' in ep
        ? connect(ep.socketPath)
        : (() => {
            const i = ep.authority.lastIndexOf(':');
            return connect(
              Number(ep.authority.slice(i + 1)),
              ep.authority.slice(0, i).replace(/^\[|\]$/g, ''),
            );
          })();
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(`timeout: failed to connect service "${addr}" within ${timeoutMs} ms`);
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.end();
      resolve(undefined);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      resolve(`error: failed to connect service at "${addr}": ${e.message}`);
    });
  });
}

export async function probe(opts: ProbeOptions, say: (fd: 1 | 2, line: string) => void): Promise<number> {
  const refused = await canConnect(opts.addr, opts.connectTimeoutMs);
  if (refused) {
    say(2, refused);
    return ProbeExit.CONNECTION_FAILURE;
  }
  const client = new RpcClient({ endpoint: opts.addr, deadlineMs: opts.rpcTimeoutMs });
  try {
    const { status } = await client.call(Health.Check, { service: opts.service });
    if (status !== ServingStatus.SERVING) {
      say(2, `service unhealthy (responded with "${statusName(status)}")`);
      return ProbeExit.UNHEALTHY;
    }
    say(1, `status: ${statusName(status)}`);
    return ProbeExit.OK;
  } catch (e) {
    if (e instanceof RpcError && e.code === GrpcStatus.DEADLINE_EXCEEDED)
      say(2, `timeout: health rpc did not complete within ${opts.rpcTimeoutMs} ms`);
    else say(2, `error: health rpc failed: ${(e as Error).message}`);
    return ProbeExit.RPC_FAILURE;
  } finally {
    client.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const say = (fd: 1 | 2, line: string) => writeSync(fd, `${line}\n`);
  let opts: ProbeOptions;
  try {
    opts = parseProbeArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    say(2, `grpc-health-probe: ${e.message}`);
    return ProbeExit.INVALID_ARGUMENTS;
  }
  return probe(opts, say);
}
