// IMDS with IMDSv2 tokens as the AWS SDK does it (docs/architecture.md#imds): PUT for a token (TTL read back
// from the answer), cached until it expires, a 401 discards it, 403/404/405 or no answer to the PUT falls
// back to IMDSv1; 404 on a path is "not found" (undefined), not an error; 3 attempts with backoff capped at 1
// s.
export interface ImdsClientOptions {
  endpoint: string;
  attempts?: number;
  timeoutMs?: number;
}

export class ImdsError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`IMDS ${path}: ${message}`);
    this.name = 'ImdsError';
  }
}

export class ImdsClient {
  private token: { value: string; expires: number } | undefined;
  private v1 = false;

  constructor(private readonly o: ImdsClientOptions) {}

  private async fetchToken(): Promise<string | undefined> {
    if (this.v1) return undefined;
    if (this.token && this.token.expires > Date.now()) return this.token.value;
    let res: Response;
    try {
      res = await fetch(`${this.o.endpoint}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '300' },
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 1_000),
      });
    } catch {
      this.v1 = true; // no answer to the PUT: IMDSv1
      return undefined;
    }
    if ([403, 404, 405].includes(res.status)) {
      this.v1 = true;
      return undefined;
    }
    if (!res.ok) throw new ImdsError('api/token', `token request answered HTTP ${res.status}`);
    const ttl = Number(res.headers.get('x-aws-ec2-metadata-token-ttl-seconds') ?? 300);
    const value = await res.text();
    this.token = { value, expires: Date.now() + Math.max(1, ttl - 5) * 1000 };
    return value;
  }

  /** `path` below /latest/ (e.g. "meta-data/mac"); undefined when IMDS answers 404. */
  async get(path: string): Promise<string | undefined> {
    const attempts = this.o.attempts ?? 3;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, Math.min(1_000, 100 * 2 ** i)));
      try {
        const token = await this.fetchToken();
        const res = await fetch(`${this.o.endpoint}/latest/${path}`, {
          headers: token ? { 'x-aws-ec2-metadata-token': token } : {},
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 1_000),
        });
        if (res.status === 404) return undefined;
        if (res.status === 401) {
          // A 401 means IMDS requires tokens: if a slow token PUT made us fall back to IMDSv1, try v2 again.
          this.token = undefined;
          this.v1 = false;
          throw new ImdsError(path, 'token rejected (401)');
        }
        if (!res.ok) throw new ImdsError(path, `HTTP ${res.status}`);
        return (await res.text()).trim();
      } catch (e) {
        last = e;
      }
    }
    if (last instanceof ImdsError) throw last;
    throw new ImdsError(
      path,
      `no answer after ${attempts} attempts (${last instanceof Error ? last.message : String(last)})`,
    );
  }

  async require(path: string): Promise<string> {
    const v = await this.get(path);
    if (v === undefined || v === '') throw new ImdsError(path, 'not found');
    return v;
  }

  async list(path: string): Promise<string[]> {
    return ((await this.get(path)) ?? '').split(/\s+/).filter(Boolean);
  }
}
