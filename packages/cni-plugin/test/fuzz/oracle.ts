// The per-invocation oracle: what any aws-cni run must look like, whatever its input.
//   exit 0  → ADD: one result object for the config's version; DEL/CHECK/GC/STATUS: empty stdout.
//   exit 1  → exactly one CNI error object with a spec code (1–11, 50/51, 999) and a message.
//   always  → stderr holds only JSON log lines (no warning, no stack trace); no Node internal error text;
//             the run ends (the runner kills it after a bound and reports a hang).
export interface Invocation {
  readonly command: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

const SPEC_CODES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 50, 51, 999]);
const INTERNAL_TEXT = [
  /Maximum call stack/,
  /RangeError|TypeError|ReferenceError|SyntaxError: (?!Unexpected|Expected|Bad|Unterminated|JSON)/,
  /ERR_[A-Z_]{4,}/,
  /Received type/,
  /Cannot read propert/,
  /is not a function/,
  /undefined is not/,
  /\n\s+at .+:\d+:\d+/,
  /aws-cni crashed/,
  /\[object Object\]/,
  /Warning:/,
];

export function oracle(cmd: string, cniVersion: unknown, r: Invocation): string[] {
  const bad: string[] = [];
  if (r.timedOut) return [`${cmd} did not finish (hang)`];
  if (r.signal) return [`${cmd} died of ${r.signal}`];
  for (const line of r.stderr.split('\n').filter((l) => l.trim() !== '')) {
    try {
      const o = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (typeof o.level !== 'string' || typeof o.msg !== 'string')
        bad.push(`stderr line is not a log line: ${line.slice(0, 200)}`);
    } catch {
      bad.push(`stderr is not a JSON log line: ${line.slice(0, 200)}`);
    }
  }
  for (const re of INTERNAL_TEXT) {
    if (re.test(r.stdout) || re.test(r.stderr))
      bad.push(`output shows internal text ${re}: ${(r.stdout + r.stderr).slice(0, 300)}`);
  }
  if (r.code === 0) {
    if (cmd === 'ADD') {
      let o: unknown;
      try {
        o = JSON.parse(r.stdout);
      } catch {
        return [...bad, `ADD exit 0 with a non-JSON stdout: ${r.stdout.slice(0, 200)}`];
      }
      const res = o as {
        cniVersion?: unknown;
        interfaces?: unknown;
        ips?: unknown;
        ip4?: unknown;
        ip6?: unknown;
      };
      if (typeof res.cniVersion !== 'string') bad.push('ADD result without cniVersion');
      else if (typeof cniVersion === 'string' && cniVersion !== '' && res.cniVersion !== cniVersion)
        bad.push(`ADD result of version ${res.cniVersion} for a ${cniVersion} config`);
      const legacy = typeof res.cniVersion === 'string' && /^0\.[12]\./.test(res.cniVersion);
      if (legacy ? !res.ip4 && !res.ip6 : !Array.isArray(res.interfaces) || !Array.isArray(res.ips))
        bad.push(`ADD result without addresses: ${r.stdout.slice(0, 200)}`);
    } else if (cmd === 'VERSION') {
      if (!/"supportedVersions"/.test(r.stdout)) bad.push('VERSION without supportedVersions');
    } else if (r.stdout.trim() !== '') {
      bad.push(`${cmd} exit 0 with output: ${r.stdout.slice(0, 200)}`);
    }
    return bad;
  }
  if (r.code !== 1) bad.push(`${cmd} exit code ${r.code}`);
  let err: { code?: unknown; msg?: unknown };
  try {
    err = JSON.parse(r.stdout) as typeof err;
  } catch {
    return [...bad, `${cmd} failed without one CNI error object: ${r.stdout.slice(0, 200)}`];
  }
  if (typeof err !== 'object' || err === null || Array.isArray(err))
    return [...bad, `${cmd} error is not an object`];
  if (typeof err.code !== 'number' || !SPEC_CODES.has(err.code))
    bad.push(`${cmd} error code ${String(err.code)}`);
  if (typeof err.msg !== 'string' || err.msg === '') bad.push(`${cmd} error without msg`);
  else if (err.msg.length > 2_000) bad.push(`${cmd} error msg of ${err.msg.length} characters`);
  return bad;
}
