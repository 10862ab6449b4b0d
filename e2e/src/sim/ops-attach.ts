// Instance launch, ENI attach/detach/delete. An attach is `attaching` until its delay passes and the attach
// listeners (hot-plug) resolve; a detach is `detaching` until its delay passes and the detach listeners resolve.
import * as err from './errors.js';
import { createEni } from './ops-eni.js';
import type { Eni, Instance } from './types.js';
import { toTags, type World } from './world.js';

const pending = new WeakMap<World, Set<Promise<void>>>();

/** Run `fn` after `delayMs` (inline when 0, so zero-latency tests are deterministic); tracked for `settle`. */
async function later(w: World, delayMs: number, fn: () => Promise<void>): Promise<void> {
  if (delayMs <= 0) return fn();
  const set = pending.get(w) ?? new Set<Promise<void>>();
  pending.set(w, set);
  const p = new Promise<void>((r) => setTimeout(r, delayMs).unref()).then(fn);
  set.add(p);
  void p.finally(() => set.delete(p));
}

/** Wait until every delayed attach/detach has completed. */
export async function settle(w: World): Promise<void> {
  const set = pending.get(w);
  while (set && set.size > 0) await Promise.allSettled([...set]);
}

export interface LaunchSpec {
  type: string;
  subnetId: string;
  groups?: string[];
  tags?: Record<string, string>;
  /** Give the primary ENI an IPv6 address (needs an IPv6 subnet). */
  ipv6?: boolean;
  /**
   * More interfaces created in the instance's subnet and attached at launch (RunInstances `NetworkInterfaces`),
   * e.g. an EFA-only device on a network card for an EFA workload. Deleted with the instance.
   */
  interfaces?: {
    networkCardIndex: number;
    deviceIndex: number;
    interfaceType: 'interface' | 'efa' | 'efa-only';
  }[];
}

/** A running instance with its primary ENI attached at device 0 (listeners run before this resolves). */
export async function launchInstance(w: World, spec: LaunchSpec): Promise<Instance> {
  w.limits(spec.type);
  const subnet = w.subnet(spec.subnetId);
  const eni = createEni(w, {
    subnetId: subnet.id,
    groups: spec.groups,
    description: 'Primary network interface',
    ipv6Count: spec.ipv6 ? 1 : 0,
  });
  const inst: Instance = {
    id: w.newId('i'),
    type: spec.type,
    az: subnet.az,
    subnetId: subnet.id,
    vpcId: subnet.vpcId,
    primaryEniId: eni.id,
    launchTime: new Date(w.now()),
    tags: toTags(spec.tags),
  };
  w.instances.set(inst.id, inst);
  eni.status = 'in-use';
  eni.attachment = {
    id: w.newId('eni-attach'),
    instanceId: inst.id,
    deviceIndex: 0,
    networkCardIndex: 0,
    deleteOnTermination: true,
    status: 'attaching',
    attachTime: new Date(w.now()),
  };
  await w.runListeners(w.attachListeners, eni, inst);
  eni.attachment.status = 'attached';
  w.changed();
  for (const i of spec.interfaces ?? []) {
    const extra = createEni(w, { subnetId: subnet.id, groups: spec.groups, interfaceType: i.interfaceType });
    await attachEni(
      w,
      {
        eniId: extra.id,
        instanceId: inst.id,
        deviceIndex: i.deviceIndex,
        networkCardIndex: i.networkCardIndex,
      },
      0,
    );
    extra.attachment!.deleteOnTermination = true;
  }
  return inst;
}

export interface AttachSpec {
  eniId: string;
  instanceId: string;
  deviceIndex: number;
  networkCardIndex?: number;
}

export function ipv4Count(e: Eni): number {
  return 1 + e.secondaryIps.length + e.ipv4Prefixes.length;
}

export async function attachEni(w: World, spec: AttachSpec, delayMs: number): Promise<string> {
  const eni = w.eni(spec.eniId);
  const inst = w.instance(spec.instanceId);
  const lim = w.limits(inst.type);
  const nc = spec.networkCardIndex ?? 0;
  const card = lim.networkCards.find((c) => c.index === nc);
  if (!card) throw err.invalidParam(`Network card index ${nc} is not valid for instance type ${inst.type}`);
  if (eni.attachment) throw err.invalidParam(`Interface: [${eni.id}] in use.`);
  if (eni.az !== inst.az)
    throw err.invalidParam(
      `Network interface '${eni.id}' and instance '${inst.id}' are in different availability zones`,
    );
  const onCard = w.enisOf(inst.id).filter((e) => e.attachment!.networkCardIndex === nc);
  if (onCard.length >= card.maxEnis)
    throw new err.Ec2Error(
      'AttachmentLimitExceeded',
      `Interface count ${onCard.length + 1} exceeds the limit for ${inst.type}`,
    );
  if (onCard.some((e) => e.attachment!.deviceIndex === spec.deviceIndex))
    throw err.invalidParam(
      `Instance '${inst.id}' already has an interface attached at device index '${spec.deviceIndex}'.`,
    );
  if (ipv4Count(eni) > lim.ipv4PerEni) throw err.ipLimit();
  const att = {
    id: w.newId('eni-attach'),
    instanceId: inst.id,
    deviceIndex: spec.deviceIndex,
    networkCardIndex: nc,
    deleteOnTermination: false,
    status: 'attaching' as const,
    attachTime: new Date(w.now()),
  };
  eni.attachment = { ...att };
  eni.status = 'in-use';
  w.changed();
  const done = async (): Promise<void> => {
    if (eni.attachment?.id !== att.id) return; // detached meanwhile
    await w.runListeners(w.attachListeners, eni, inst);
    if (eni.attachment?.id === att.id) eni.attachment.status = 'attached';
    w.changed();
  };
  await later(w, delayMs, done);
  return att.id;
}

export function findAttachment(w: World, attachmentId: string): Eni {
  for (const e of w.enis.values()) if (e.attachment?.id === attachmentId) return e;
  throw err.notFoundAttachment(attachmentId);
}

export async function detachEni(w: World, attachmentId: string, delayMs: number): Promise<void> {
  const eni = findAttachment(w, attachmentId);
  const att = eni.attachment!;
  if (att.deviceIndex === 0 && att.networkCardIndex === 0)
    throw new err.Ec2Error(
      'OperationNotPermitted',
      'The network interface at device index 0 cannot be detached.',
    );
  if (att.status === 'detaching') return;
  att.status = 'detaching';
  w.changed();
  const inst = w.instance(att.instanceId);
  await later(w, delayMs, async () => {
    await w.runListeners(w.detachListeners, eni, inst);
    if (eni.attachment?.id === attachmentId) {
      eni.attachment = undefined;
      eni.status = 'available';
    }
    w.changed();
  });
}

export function deleteEni(w: World, id: string): void {
  const eni = w.eni(id);
  if (eni.attachment) throw err.invalidParam(`Network interface '${id}' is currently in use.`);
  const a = w.alloc(eni.subnetId);
  for (const ip of [eni.primaryIp, ...eni.secondaryIps]) if (ip) a.release(ip); // efa-only: none
  for (const p of eni.ipv4Prefixes) a.releasePrefix(p);
  for (const ip of eni.ipv6Addresses) a.release6(ip);
  for (const p of eni.ipv6Prefixes) a.releasePrefix6(p);
  w.enis.delete(id);
  w.changed();
}
