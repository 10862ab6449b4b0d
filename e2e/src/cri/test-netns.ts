// Throwaway network namespaces for the demo, with unique names and guaranteed removal.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { addOwnedNetns } from '../harness/owner.js';

const tag = `${process.pid}-${randomBytes(2).toString('hex')}`;
const created: string[] = [];

export function addNetns(purpose: string): string {
  const name = `vct-demo-${purpose}-${tag}`;
  addOwnedNetns(name);
  created.push(name);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function removeAllNetns(): void {
  for (const name of created.splice(0).reverse()) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

export function inNetns(ns: string, cmd: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...cmd], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
