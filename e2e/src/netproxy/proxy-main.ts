// The proxy process: started inside a network namespace (nsenter --net), it listens on TCP addresses there and
// pipes every connection to a unix socket. argv[2]: JSON [{host, port, unix}]. Prints "ready" once listening.
import { connect, createServer } from 'node:net';

interface Mapping {
  host: string;
  port: number;
  unix: string;
}

const mappings = JSON.parse(process.argv[2] ?? '[]') as Mapping[];
let pending = mappings.length;
for (const m of mappings) {
  const server = createServer((client) => {
    const upstream = connect(m.unix);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
  });
  server.on('error', (e) => {
    console.error(`proxy ${m.host}:${m.port}: ${String(e)}`);
    process.exit(1);
  });
  server.listen(m.port, m.host, () => {
    if (--pending === 0) console.log('ready');
  });
}
process.on('SIGTERM', () => process.exit(0));
