// IMDS for one simulated instance, answered live from the world model: IMDSv2 tokens required (401 without),
// the TTL echoed back, the paths ipamd reads (spec §3.3).
import { type Server, createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { formatCidr } from '@vpc-cni/shared/ipmath';
import type { World } from './world.js';

export class ImdsSim {
  private server: Server | undefined;
  private readonly tokens = new Map<string, number>();
  url = '';

  constructor(
    readonly world: World,
    readonly instanceId: string,
    readonly region = 'us-west-2',
  ) {}

  /** The answer for a path below /latest/, or undefined (404). */
  answer(path: string): string | undefined {
    const w = this.world;
    const inst = w.instance(this.instanceId);
    const primary = w.eni(inst.primaryEniId);
    const enis = w.attachedEnis(inst.id);
    if (path === 'dynamic/instance-identity/document')
      return JSON.stringify({
        region: this.region,
        instanceId: inst.id,
        instanceType: inst.type,
        availabilityZone: inst.az,
      });
    const meta: Record<string, string> = {
      'meta-data/instance-id': inst.id,
      'meta-data/instance-type': inst.type,
      'meta-data/placement/availability-zone': inst.az,
      'meta-data/local-ipv4': primary.primaryIp,
      'meta-data/mac': primary.mac,
      'meta-data/network/interfaces/macs': enis.map((e) => `${e.mac}/`).join('\n'),
    };
    if (path in meta) return meta[path];
    const m = /^meta-data\/network\/interfaces\/macs\/([0-9a-f:]+)\/(.*)$/.exec(path);
    const eni = m && enis.find((e) => e.mac === m[1]);
    if (!m || !eni) return undefined;
    const subnet = w.subnet(eni.subnetId);
    const fields: Record<string, string | undefined> = {
      'interface-id': eni.id,
      'device-number': String(eni.attachment?.deviceIndex ?? 0),
      'network-card': String(eni.attachment?.networkCardIndex ?? 0),
      'subnet-id': eni.subnetId,
      'vpc-id': w.vpcId,
      'subnet-ipv4-cidr-block': formatCidr(subnet.cidr),
      'vpc-ipv4-cidr-blocks': w.vpcCidrs.map(formatCidr).join('\n'),
      'security-group-ids': eni.groups.join('\n'),
      'local-ipv4s': [eni.primaryIp, ...eni.secondaryIps].join('\n'),
      'ipv4-prefix': eni.prefixes.length ? eni.prefixes.join('\n') : undefined,
    };
    return fields[m[2] ?? ''];
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (req.method === 'PUT' && url === '/latest/api/token') {
        const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds'] ?? 21600);
        const token = randomUUID();
        this.tokens.set(token, Date.now() + ttl * 1000);
        res.writeHead(200, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) }).end(token);
        return;
      }
      const token = req.headers['x-aws-ec2-metadata-token'];
      if (typeof token !== 'string' || (this.tokens.get(token) ?? 0) < Date.now()) {
        res.writeHead(401).end();
        return;
      }
      try {
        const body = url.startsWith('/latest/')
          ? this.answer(url.slice('/latest/'.length).replace(/\/$/, ''))
          : undefined;
        if (body === undefined) res.writeHead(404).end();
        else res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    this.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    return this.url;
  }

  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
