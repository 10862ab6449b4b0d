// The simulator CLI as a user runs it: a YAML world file → a ready line with endpoints and per-node env that the
// AWS SDK can use; SIGTERM tears it down (the port closes); a bad file is a clear error with exit code 2.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWorldFile } from './world-file.js';

const MAIN = resolve(import.meta.dirname, 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'vct-cli-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const WORLD = `
vpc: { cidrs: [10.0.0.0/16, 100.64.0.0/16] }
subnets:
  - { cidr: 10.0.1.0/24, az: us-west-2a }
  - { cidr: 100.64.0.0/20, az: us-west-2a, tags: { kubernetes.io/role/cni: "1" } }
nodes:
  - { name: node-a, type: m5.large }
  - { name: node-b, type: c5.xlarge, subnet: 1 }
`;

function run(
  file: string,
  ...extra: string[]
): {
  child: ChildProcess;
  firstLine: Promise<string>;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, file, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const firstLine = new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout! }).once('line', res);
    child.once('exit', () => rej(new Error(`exited: ${stderr}`)));
  });
  firstLine.catch(() => undefined); // only the first test reads it
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, firstLine, exit: exit.then((c) => (c === 2 ? Promise.reject(new Error(stderr)) : c)) };
}

describe('sim CLI', () => {
  it('starts the world, answers the SDK per the printed env, and tears down on SIGTERM', async () => {
    const file = join(dir, 'world.yaml');
    writeFileSync(file, WORLD);
    const r = run(file);
    const ready = JSON.parse(await r.firstLine) as {
      ec2Url: string;
      nodes: { name: string; instanceId: string; primaryIp: string; env: Record<string, string> }[];
    };
    expect(ready.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b']);
    expect(ready.nodes[1]?.primaryIp).toMatch(/^100\.64\./);
    const env = ready.nodes[0]!.env;
    const ec2 = new EC2Client({
      endpoint: env['AWS_EC2_ENDPOINT'],
      region: env['AWS_REGION'],
      credentials: { accessKeyId: env['AWS_ACCESS_KEY_ID']!, secretAccessKey: env['AWS_SECRET_ACCESS_KEY']! },
    });
    const d = await ec2.send(new DescribeInstancesCommand({}));
    const types = d.Reservations?.flatMap((x) => x.Instances ?? []).map((i) => i.InstanceType);
    expect(types?.sort()).toEqual(['c5.xlarge', 'm5.large']);
    const imds = await fetch(`${env['AWS_EC2_METADATA_SERVICE_ENDPOINT']}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
    });
    expect(imds.status).toBe(200);
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    await expect(ec2.send(new DescribeInstancesCommand({}))).rejects.toThrow();
    ec2.destroy();
  });

  it('--fabric: each node gets a netns where IMDS answers at 169.254.169.254 as that instance; all gone on SIGTERM', async () => {
    const file = join(dir, 'fabric.yaml');
    writeFileSync(file, WORLD);
    const r = run(file, '--fabric');
    const ready = JSON.parse(await r.firstLine) as { nodes: { instanceId: string; netns: string }[] };
    const node = ready.nodes[1]!;
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(node.netns);
    const script =
      "fetch('http://169.254.169.254/latest/api/token',{method:'PUT',headers:{'x-aws-ec2-metadata-token-ttl-seconds':'60'}})" +
      ".then((t)=>t.text()).then((tok)=>fetch('http://169.254.169.254/latest/meta-data/instance-id',{headers:{'x-aws-ec2-metadata-token':tok}}))" +
      '.then(async (r)=>process.stdout.write(await r.text()))';
    const { stdout } = await promisify(execFile)('ip', [
      'netns',
      'exec',
      node.netns,
      process.execPath,
      '-e',
      script,
    ]);
    expect(stdout).toBe(node.instanceId);
    // Its primary ENI is a real link there.
    expect(
      execFileSync('ip', ['-n', node.netns, '-o', 'link', 'show', 'eth0'], { encoding: 'utf8' }),
    ).toContain('UP');
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(node.netns);
  });

  it('a bad world file is a clear error naming the field, exit code 2', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, WORLD.replace('c5.xlarge', 'c5.huge'));
    const r = run(file);
    await expect(r.exit).rejects.toThrow('world file: nodes[1].type: unknown instance type c5.huge');
  });

  it.each([
    ['nodes: []\nvpc: {cidrs: [10.0.0.0/16]}\nsubnets: [{cidr: 10.0.1.0/24, az: a}]', 'nodes: at least one'],
    ['vpc: {}\nsubnets: []\nnodes: []', 'vpc.cidrs'],
    [WORLD.replace('node-b', 'node-a'), 'duplicate name node-a'],
    [WORLD.replace('subnet: 1', 'subnet: 7'), 'no subnet at index 7'],
  ])('parse error: %#', (text, msg) => {
    expect(() => parseWorldFile(text)).toThrow(msg);
  });
});
