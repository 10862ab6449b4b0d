import { describe, expect, it } from 'vitest';
import { parseMaxPodsArgs } from './args.js';
import { maxPodsCommand } from './main.js';

async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await maxPodsCommand(argv, env, (fd, line) => (fd === 1 ? out : err).push(line));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('max-pods-calculator program', () => {
  it('prints the number for the flags of upstream', async () => {
    expect(await run(['--instance-type', 'm5.large', '--cni-version', '1.9.0'])).toEqual({
      code: 0,
      out: '29',
      err: '',
    });
    expect(
      (
        await run([
          '--instance-type',
          'm5.large',
          '--cni-version',
          '1.9.0',
          '--cni-prefix-delegation-enabled',
        ])
      ).out,
    ).toBe('110');
    expect(
      (
        await run([
          '--instance-type',
          'm5.large',
          '--cni-version',
          '1.9.0',
          '--cni-prefix-delegation-enabled',
          '--show-max-allowed',
        ])
      ).out,
    ).toBe('434');
    expect(
      (
        await run([
          '--instance-type',
          'm5.large',
          '--cni-version',
          '1.9.0',
          '--cni-custom-networking-enabled',
          '--cni-max-eni',
          '2',
        ])
      ).out,
    ).toBe('11');
  });

  it("upstream's messages for a missing instance type or CNI version", async () => {
    expect(await run(['--cni-version', '1.9.0'])).toEqual({
      code: 1,
      out: 'You must specify an instance type to calculate max pods value.',
      err: '',
    });
    expect(await run(['--instance-type', 'm5.large'])).toEqual({
      code: 1,
      out: 'You must specify a CNI Version to use. Example - 1.7.5',
      err: '',
    });
  });

  it('refuses bad input with the cause', async () => {
    const unknown = await run(['--instance-type', 'm5.huge', '--cni-version', '1.9.0']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/unknown instance type "m5.huge": not in the bundled table of \d+ types/);
    expect(
      (await run(['--instance-type', 'm5.large', '--cni-version', '1.9.0', '--cni-max-eni', '0'])).err,
    ).toMatch(/--cni-max-eni must be a whole number of ENIs, at least 1/);
    expect((await run(['--instance-type', 'm5.large', '--cni-version', '1.9.0', '--prefix'])).err).toMatch(
      /unknown argument "--prefix"/,
    );
    expect((await run(['--instance-type', 'm5.large', '--cni-version', 'x'])).err).toMatch(
      /invalid --cni-version "x"/,
    );
    expect((await run(['--instance-type', 'bmn-sf1.metal', '--cni-version', '1.9.0'])).err).toMatch(
      /vCPU count of bmn-sf1.metal is not known offline.*--show-max-allowed/,
    );
    expect((await run(['--instance-type'])).err).toMatch(/--instance-type needs a value/);
  });

  it('--help prints the flags and exits 1, as upstream', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/--cni-prefix-delegation-enabled/);
  });

  it('--instance-type-from-imds: an unreachable IMDS is a clear error', async () => {
    const r = await run(['--instance-type-from-imds', '--cni-version', '1.9.0'], {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1',
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/could not read the instance type from IMDS at http:\/\/127.0.0.1:1/);
  });

  it('parses flags', () => {
    expect(parseMaxPodsArgs(['--instance-type-from-imds', '--cni-version', 'v1.12.6'])).toMatchObject({
      instanceTypeFromImds: true,
      cniVersion: 'v1.12.6',
    });
  });
});
