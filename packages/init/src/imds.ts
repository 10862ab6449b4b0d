// The one IMDS read init needs (the primary ENI's MAC), IMDSv2 with a session token, bounded retries.
// Deliberately not the AWS SDK: init should start fast and carry little.

export interface ImdsOptions {
  endpoint: string;
  attempts?: number;
  /** First retry delay; doubles each attempt. */
  backoffMs?: number;
  timeoutMs?: number;
}

async function once(endpoint: string, path: string, timeoutMs: number): Promise<string> {
  const signal = AbortSignal.timeout(timeoutMs);
  const tokenRes = await fetch(`${endpoint}/latest/api/token`, {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
    signal,
  });
  if (!tokenRes.ok) throw new Error(`token request answered HTTP ${tokenRes.status}`);
  const token = await tokenRes.text();
  const res = await fetch(`${endpoint}/latest/${path}`, {
    headers: { 'X-aws-ec2-metadata-token': token },
    signal,
  });
  if (!res.ok) throw new Error(`GET ${path} answered HTTP ${res.status}`);
  return (await res.text()).trim();
}

export async function imdsGet(path: string, o: ImdsOptions): Promise<string> {
  const attempts = o.attempts ?? 5;
  let delay = o.backoffMs ?? 200;
  let last: unknown;
  for (let i = 1; i <= attempts; i++) {
    try {
      return await once(o.endpoint, path, o.timeoutMs ?? 2_000);
    } catch (e) {
      last = e;
      if (i < attempts) await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
  const why =
    last instanceof Error ? (last.cause instanceof Error ? last.cause.message : last.message) : String(last);
  throw new Error(`IMDS ${o.endpoint} did not answer ${path} after ${attempts} attempts: ${why}`);
}
