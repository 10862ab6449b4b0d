// The byte stream under the light gRPC client's HTTP/2 connection. node:net by default; aws-cni plugs in a unix
// socket driven through libc (./ffi-transport.ts), so a CNI call never loads node:net and its streams.
import type { Socket } from 'node:net';

export type Target = { socketPath: string } | { host: string; port: number };

/** What the connection hears from its transport. `close` comes at most once, after any `error`. */
export interface TransportEvents {
  data(chunk: Buffer): void;
  error(err: NodeJS.ErrnoException): void;
  close(): void;
}

export interface H2Transport {
  /** Settles when connected (written data is then on its way) or when connecting failed. */
  readonly ready: Promise<void>;
  /** Attaches the listeners; called once, right after the transport is made. */
  listen(events: TransportEvents): void;
  write(data: Buffer): void;
  /** Graceful close: FIN after what is queued. */
  end(): void;
  destroy(): void;
  /** Whether replies are awaited (streams open): a transport that must poll for data polls only then. */
  awaiting?(on: boolean): void;
}

/** node:net, loaded on first use (process.getBuiltinModule) so that importing the client costs nothing. */
export function netTransport(target: Target): H2Transport {
  const net = process.getBuiltinModule('node:net');
  const socket: Socket =
    'socketPath' in target ? net.connect(target.socketPath) : net.connect(target.port, target.host);
  socket.setNoDelay?.(true);
  const ready = new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  return {
    ready,
    listen(events) {
      socket.on('data', events.data);
      socket.on('error', events.error);
      socket.on('close', () => events.close());
    },
    write: (data) => void socket.write(data),
    end(): void {
      // Not destroy(): net's destroy path reads process.stderr, whose lazy creation costs ~0.3 ms. A server
      // that never closes its side is cut off later; unref'd, so it keeps no process alive.
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    },
    destroy: () => void socket.destroy(),
  };
}
