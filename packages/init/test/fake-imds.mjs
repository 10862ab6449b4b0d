// A minimal IMDSv2 endpoint for init tests, run inside the test's netns: `node fake-imds.mjs <mac> <portfile>`.
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
const [mac, portFile] = process.argv.slice(2);
const token = 'tok-' + process.pid;
const server = createServer((req, res) => {
  if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end(token);
  if (req.headers['x-aws-ec2-metadata-token'] !== token) return res.writeHead(401).end();
  if (req.url === '/latest/meta-data/mac') return res.end(mac);
  res.writeHead(404).end();
});
server.listen(0, '127.0.0.1', () => writeFileSync(portFile, String(server.address().port)));
