import { describe, expect, it } from 'vitest';
import { parseDuration, parseFlags } from './flags.js';

describe('controller flags', () => {
  it('defaults as upstream, except the batch window (500 ms, upstream 1 s)', () => {
    expect(parseFlags([])).toEqual({
      kubeconfig: '',
      chunkSize: 200,
      batchMs: 500,
      logLevel: 'info',
      healthProbeBindAddr: ':8081',
      metricsBindAddr: ':8080',
      leaderElect: true,
      leaderElectionNamespace: 'kube-system',
    });
    expect(parseFlags(['--leader-elect=false']).leaderElect).toBe(false);
    expect(parseFlags(['--leader-elect', '--leader-election-namespace', 'x'])).toMatchObject({
      leaderElect: true,
      leaderElectionNamespace: 'x',
    });
    expect(() => parseFlags(['--leader-elect=maybe'])).toThrow(
      /--leader-elect must be true or false, got "maybe"/,
    );
  });
  it('parses values given as --x=v and --x v', () => {
    const f = parseFlags([
      '--endpoint-chunk-size=5',
      '--pod-update-batch-period-duration',
      '250ms',
      '--kubeconfig=/k',
    ]);
    expect([f.chunkSize, f.batchMs, f.kubeconfig]).toEqual([5, 250, '/k']);
    expect(parseDuration('1m30s')).toBe(90_000);
  });
  it('refuses bad input naming the flag', () => {
    expect(() => parseFlags(['--endpoint-chunk-size=0'])).toThrow(
      /--endpoint-chunk-size must be a whole number ≥ 1, got "0"/,
    );
    expect(() => parseFlags(['--pod-update-batch-period-duration=soon'])).toThrow(/invalid duration "soon"/);
    expect(() => parseFlags(['--leader-elect=maybe'])).toThrow(
      /--leader-elect must be true or false, got "maybe"/,
    );
    expect(() => parseFlags(['--bogus'])).toThrow(/unknown flag --bogus/);
    expect(() => parseFlags(['--kubeconfig'])).toThrow(/--kubeconfig needs a value/);
  });
});
