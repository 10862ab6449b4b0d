// Fuzzing the CNI config parser (seeded, so a failure reproduces): random bytes, random JSON, and configs whose
// known fields carry random JSON values. parseNetConf returns a NetConf or throws a CniError; never another
// exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CniError } from '../src/cni/errors.js';
import { parseNetConf } from '../src/cni/netconf.js';

const SEED = 0x5eed_18;
const RUNS = 500;
/** Same seed every run; a loaded machine stops early (after 4 s) instead of timing out, still green. */
const BOUND = { seed: SEED, interruptAfterTimeLimit: 4_000, markInterruptAsFailure: false };

function parsesOrCniError(stdin: string): void {
  try {
    const c = parseNetConf(stdin);
    expect(c.name).not.toBe('');
    expect(c.mtu).toBeGreaterThanOrEqual(576);
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).message).not.toBe('');
  }
}

const FIELDS = [
  'cniVersion',
  'name',
  'type',
  'vethPrefix',
  'mtu',
  'podSGEnforcingMode',
  'pluginLogFile',
  'pluginLogLevel',
  'runtimeConfig',
  'prevResult',
  'ipamdEndpoint',
  'ipamdTimeoutMs',
] as const;

/** JSON values including objects whose own keys shadow Object.prototype (toString, valueOf, __proto__). */
const arbValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('1.0.0', '0.3.1', 'aws-cni', 'strict', 'standard', '9001', 'eni', ''),
  fc.dictionary(
    fc.constantFrom('toString', 'valueOf', '__proto__', 'constructor', 'x'),
    fc.jsonValue({ maxDepth: 1 }),
  ),
);

const arbConfig = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...FIELDS), arbValue),
    fc.dictionary(fc.constantFrom('io.kubernetes.cri.pod-annotations', 'other'), arbValue),
  )
  .map(([fields, rc]) => ({ name: 'aws-cni', cniVersion: '1.0.0', ...fields, runtimeConfig: rc }));

describe('CNI config parser fuzz', () => {
  it('random bytes are a decode failure (code 6), never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (u) =>
        parsesOrCniError(Buffer.from(u).toString('utf8')),
      ),
      { ...BOUND, numRuns: RUNS },
    );
  });

  it('random JSON documents parse or throw a CniError', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (v) => parsesOrCniError(JSON.stringify(v))),
      { ...BOUND, numRuns: RUNS },
    );
  });

  // Once a defect: {"mtu": {"toString": []}} made the parser throw a TypeError while describing the value.
  it('configs whose fields carry random values parse or throw a CniError', () => {
    fc.assert(
      fc.property(arbConfig, (c) => parsesOrCniError(JSON.stringify(c))),
      { ...BOUND, numRuns: RUNS * 2 },
    );
  });
});
