// VPC_CNI_STATIC_ENIS: a node's ENIs described in JSON, for tests, benches and the simulator-less demo, in place
// of the IMDS/EC2 ENI manager. `reserve` lists addresses the in-memory supply may add on demand (like EC2
// assigning more secondary IPs).
import { z } from 'zod';
import type { Datastore } from '../store/index.js';

const eniSchema = z.object({
  id: z.string().min(1),
  deviceNumber: z.number().int().min(0),
  routeTableId: z.number().int().min(1).optional(),
  primary: z.boolean().optional(),
  ips: z.array(z.string()).default([]),
  prefixes: z.array(z.string()).default([]),
  reserve: z.array(z.string()).default([]),
  /** Primary ENI only: what IMDS would report, for host networking (SNAT to primaryIp, the link with mac). */
  mac: z.string().optional(),
  primaryIp: z.string().optional(),
  vpcCidrs: z.array(z.string()).optional(),
});
const schema = z.array(eniSchema).min(1);
export type StaticEni = z.infer<typeof eniSchema>;

export function parseStaticEnis(text: string): StaticEni[] {
  const r = schema.safeParse(JSON.parse(text));
  if (!r.success)
    throw new Error(
      `VPC_CNI_STATIC_ENIS is not a list of ENIs: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** The primary ENI's host facts, when the description gives them (then ipamd sets up host networking). */
export function staticPrimary(
  enis: readonly StaticEni[],
): { mac: string; primaryIp: string; vpcCidrs: string[] } | undefined {
  const p = enis.find((e) => e.primary ?? e.deviceNumber === 0);
  return p?.mac && p.primaryIp
    ? { mac: p.mac, primaryIp: p.primaryIp, vpcCidrs: p.vpcCidrs ?? [] }
    : undefined;
}

/** Loads the ENIs into the datastore; returns the reserve per ENI for the in-memory supply. */
export function loadStaticEnis(ds: Datastore, enis: readonly StaticEni[]): Map<string, string[]> {
  const reserve = new Map<string, string[]>();
  for (const e of enis) {
    const primary = e.primary ?? e.deviceNumber === 0;
    ds.addEni({
      id: e.id,
      deviceNumber: e.deviceNumber,
      isPrimary: primary,
      routeTableId: e.routeTableId ?? (primary ? 254 : e.deviceNumber + 1),
    });
    for (const ip of e.ips)
      ds.addCidr(e.id, ip.includes('/') ? ip : `${ip}/${ip.includes(':') ? 128 : 32}`, false);
    for (const p of e.prefixes) ds.addCidr(e.id, p, true);
    reserve.set(e.id, [...e.reserve]);
  }
  return reserve;
}
