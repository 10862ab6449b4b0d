// IPv4 / IPv6 text syntax checks, accepting exactly what node:net's isIPv4 / isIPv6 accept (a test compares them
// on random input). Written out so that aws-cni's netlink code does not load node:net and its streams (~1 ms of
// every CNI call) for two string checks.

const DEC = /^(0|[1-9]\d{0,2})$/;
const HEX = /^[0-9a-fA-F]{1,4}$/;
const ZONE = /^[0-9a-zA-Z.:-]+$/;

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => DEC.test(p) && Number(p) <= 255);
}

/** Counts the 16-bit groups of a colon-separated run (an IPv4 tail counts 2), or -1 when malformed. */
function groups(run: string, mayEndInV4: boolean): number {
  if (run === '') return 0;
  const parts = run.split(':');
  let n = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (HEX.test(p)) n += 1;
    else if (mayEndInV4 && i === parts.length - 1 && isIPv4(p)) n += 2;
    else return -1;
  }
  return n;
}

export function isIPv6(text: string): boolean {
  let s = text;
  const pct = s.indexOf('%');
  if (pct >= 0) {
    if (!ZONE.test(s.slice(pct + 1))) return false;
    s = s.slice(0, pct);
  }
  const gap = s.indexOf('::');
  if (gap < 0) return groups(s, true) === 8;
  if (s.indexOf('::', gap + 1) >= 0 || s.includes(':::')) return false;
  const head = s.slice(0, gap);
  const tail = s.slice(gap + 2);
  const h = groups(head, false);
  const t = groups(tail, true);
  return h >= 0 && t >= 0 && h + t <= 7;
}
