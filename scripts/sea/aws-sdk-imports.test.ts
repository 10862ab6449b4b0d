// The SEA build's AWS SDK import rewriting (aws-sdk-imports.mjs): a program loaded by dynamic import() that
// imports two commands and the client gets those (working, against an HTTP server speaking EC2's query
// protocol), not the package's ~950 commands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { awsSdkDirectImports } from './aws-sdk-imports.mjs';

const execFileP = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'vct-sdk-imports-'));
let server: Server;
let endpoint = '';

beforeAll(async () => {
  // EC2's query protocol: DescribeSubnets answers one subnet, anything else UnauthorizedOperation.
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'text/xml');
      if (new URLSearchParams(body).get('Action') === 'DescribeSubnets') {
        res.end(
          '<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r1</requestId>' +
            '<subnetSet><item><subnetId>subnet-0aa</subnetId><cidrBlock>10.0.0.0/24</cidrBlock>' +
            '<availableIpAddressCount>250</availableIpAddressCount></item></subnetSet></DescribeSubnetsResponse>',
        );
      } else {
        res.statusCode = 403;
        res.end(
          '<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>not allowed</Message></Error>' +
            '</Errors><RequestID>r2</RequestID></Response>',
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Bundles a program that the entry loads by dynamic import(), as the multi-call executable does. */
async function bundle(): Promise<string> {
  writeFileSync(
    join(dir, 'program.ts'),
    `import { DescribeSubnetsCommand, EC2Client, EC2ServiceException, type Subnet } from '@aws-sdk/client-ec2';
import { DeleteNetworkInterfaceCommand } from '@aws-sdk/client-ec2';
export { EC2Client as ReexportedClient } from '@aws-sdk/client-ec2';
export const Client = EC2Client;
export async function main(endpoint: string): Promise<object> {
  const ec2 = new EC2Client({ region: 'us-west-2', endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 's' } });
  const subnets: Subnet[] = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
  const err = await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: 'eni-1' })).catch((e: unknown) => e);
  return { subnets, modeled: err instanceof EC2ServiceException, name: (err as Error).name };
}`,
  );
  writeFileSync(
    join(dir, 'entry.ts'),
    `void import('./program.js').then(async (p) => console.log(JSON.stringify({ ...(await p.main(process.argv[2] as string)), reexported: p.ReexportedClient === p.Client })));`,
  );
  const out = join(dir, 'bundle.cjs');
  await build({
    entryPoints: [join(dir, 'entry.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    mainFields: ['module', 'main'],
    // The SDK is a dependency of ipamd, not of the repository root.
    nodePaths: [join(root, 'packages/ipamd/node_modules')],
    logLevel: 'error',
    plugins: [awsSdkDirectImports],
  });
  return out;
}

describe('AWS SDK imports in the SEA bundles', () => {
  it('bundle the imported commands only, and they work as the package index exports them', async () => {
    const file = await bundle();
    // Asynchronously: the EC2 stand-in answers from this process.
    const { stdout } = await execFileP(process.execPath, [file, endpoint], { encoding: 'utf8' });
    expect(JSON.parse(stdout)).toEqual({
      subnets: [{ SubnetId: 'subnet-0aa', CidrBlock: '10.0.0.0/24', AvailableIpAddressCount: 250 }],
      // the error class the EC2 calls classify errors by (packages/ipamd/src/eni/ec2-call.ts) is the one the
      // client's error registry throws
      modeled: true,
      name: 'UnauthorizedOperation',
      // a re-export (as the network policy agent's flow-log module re-exports the clients) is the same class
      reexported: true,
    });
    // The package index would initialize the aggregated client with every command (AcceptAddressTransfer is
    // the first); the rewritten imports bring the two commands used.
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('DeleteNetworkInterfaceCommand = class');
    expect(text).toContain('DescribeSubnetsCommand = class');
    expect(text).not.toContain('AcceptAddressTransferCommand');
  }, 120_000);
});
