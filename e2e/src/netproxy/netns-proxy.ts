// Start a TCP→unix proxy inside a network namespace (so nodes there reach the simulator's EC2/IMDS at realistic
// addresses like 169.254.169.254) and stop it by PID.
import { type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnOwned } from '../harness/owner.js';

export interface ProxyMapping {
  host: string;
  port: number;
  unix: string;
}

export interface NetnsProxy {
  readonly pid: number;
  stop(): Promise<void>;
}

const MAIN = resolve(import.meta.dirname, 'proxy-main.ts');

export async function startNetnsProxy(netnsPath: string, mappings: ProxyMapping[]): Promise<NetnsProxy> {
  const child: ChildProcess = spawnOwned(
    'nsenter',
    [`--net=${netnsPath}`, process.execPath, '--import', 'tsx', MAIN, JSON.stringify(mappings)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((ok, fail) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => l === 'ready' && ok());
    child.once('exit', (code) => fail(new Error(`netns proxy exited (${String(code)}): ${stderr.trim()}`)));
  });
  return {
    pid: child.pid!,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
