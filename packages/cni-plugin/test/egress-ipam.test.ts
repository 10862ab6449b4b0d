// egress-cni's local IPAM in a temporary directory: host-local's file format and order, idempotent reserve,
// release by container, exhaustion, crash leftovers, and never the same address twice — also between processes
// racing for the last addresses.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { HostLocalStore, candidates, ipamRange } from '../src/egress/ipam.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'egress-ipam-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const v4 = ipamRange({ subnet: '169.254.172.0/22', routes: [], dataDir: '/x' });
const v6 = ipamRange({ subnet: 'fd00::ac:00/118', routes: [], dataDir: '/x' });

describe('egress IPAM (host-local format)', () => {
  it('ranges: host-local defaults (gateway .1 skipped, IPv4 broadcast excluded)', () => {
    const all4 = [...candidates(v4, undefined)];
    expect(all4[0]).toBe('169.254.172.2');
    expect(all4.at(-1)).toBe('169.254.175.254');
    expect(all4).toHaveLength(1021);
    const all6 = [...candidates(v6, undefined)];
    expect(all6[0]).toBe('fd00::ac:2');
    expect(all6.at(-1)).toBe('fd00::ac:3ff');
    expect([...candidates(v4, '169.254.172.9')][0]).toBe('169.254.172.10');
    expect([...candidates(v4, '169.254.175.254')][0]).toBe('169.254.172.2'); // wraps
    expect([...candidates(v4, '10.0.0.1')][0]).toBe('169.254.172.2'); // foreign last: from the start
    expect(() =>
      ipamRange({ subnet: '169.254.172.0/22', rangeStart: '10.0.0.1', routes: [], dataDir: '/x' }),
    ).toThrow(/outside the subnet/);
  });

  it('reserve writes host-local files; repeat is idempotent; release removes only this container', () => {
    const d = tmp();
    const s = new HostLocalStore(d, 'aws-cni');
    expect(s.reserve('c1', 'eth0', v4)).toBe('169.254.172.2');
    expect(s.reserve('c1', 'eth0', v4)).toBe('169.254.172.2');
    expect(s.reserve('c2', 'eth0', v4)).toBe('169.254.172.3');
    expect(readFileSync(join(d, 'aws-cni', '169.254.172.2'), 'utf8')).toBe('c1\r\neth0');
    expect(readFileSync(join(d, 'aws-cni', 'last_reserved_ip.0'), 'utf8')).toBe('169.254.172.3');
    expect(s.release('c1', 'eth0')).toEqual(['169.254.172.2']);
    expect(s.release('c1', 'eth0')).toEqual([]);
    expect(s.find('c2', 'eth0')).toBe('169.254.172.3');
    // Next after the last reserved, as host-local: .2 is free again but .4 comes first.
    expect(s.reserve('c3', 'eth0', v4)).toBe('169.254.172.4');
    expect(readdirSync(join(d, 'aws-cni')).sort()).toEqual([
      '169.254.172.3',
      '169.254.172.4',
      'last_reserved_ip.0',
    ]);
  });

  it('reads reservations upstream host-local made; crash leftovers are never taken for one', () => {
    const d = tmp();
    mkdirSync(join(d, 'aws-cni'));
    writeFileSync(join(d, 'aws-cni', 'fd00::ac:2'), 'up1\r\neth0');
    writeFileSync(join(d, 'aws-cni', '.reserve-1-2-x'), 'crashed\r\neth0');
    writeFileSync(join(d, 'aws-cni', 'lock'), '');
    const s = new HostLocalStore(d, 'aws-cni');
    expect(s.find('up1', 'eth0')).toBe('fd00::ac:2');
    expect(s.find('crashed', 'eth0')).toBeUndefined();
    expect(s.reserve('c1', 'eth0', v6)).toBe('fd00::ac:3');
  });

  it('exhaustion is a clear error naming the range and the directory', () => {
    const d = tmp();
    const small = ipamRange({ subnet: '169.254.172.0/29', routes: [], dataDir: d });
    const s = new HostLocalStore(d, 'aws-cni');
    const got = Array.from({ length: 5 }, (_, i) => s.reserve(`c${i}`, 'eth0', small));
    expect(new Set(got).size).toBe(5);
    expect(() => s.reserve('c9', 'eth0', small)).toThrow(
      /no address left in IPv4 egress range 169.254.172.1-169.254.172.6/,
    );
    expect(readdirSync(join(d, 'aws-cni')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('processes racing for a small range never get the same address', async () => {
    const d = tmp();
    const script = resolve(import.meta.dirname, 'egress-ipam-worker.ts');
    const run = (i: number) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', script, d, String(i)], { encoding: 'utf8' });
    const outs = await Promise.all(Array.from({ length: 4 }, (_, i) => run(i)));
    const ips = outs.flatMap((o) => o.stdout.trim().split('\n')).filter((l) => l !== 'full');
    expect(ips.length).toBe(13); // a /28 minus network, gateway, broadcast
    expect(new Set(ips).size).toBe(ips.length);
  }, 60_000);
});
