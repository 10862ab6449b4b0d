// What the fuzzer believes the node holds: pods alive, pods whose DEL could not reach ipamd (address still
// allocated, host side cleaned), and pods gone (kept for repeated DELs and CHECK after DEL).
export interface FuzzPod {
  readonly cid: string;
  readonly podName: string;
  readonly ns: { name: string; path: string };
  readonly env: Record<string, string>;
  readonly conf: Record<string, unknown>;
  readonly prev: Record<string, unknown>;
  readonly ip: string;
  readonly table: number;
  readonly hostIf: string;
}

export class Model {
  readonly alive = new Map<string, FuzzPod>();
  /** DEL answered 11; `cleaned` = that DEL had the prevResult, so it removed the pod's host route and rules. */
  readonly pending = new Map<string, FuzzPod & { cleaned: boolean }>();
  readonly gone: FuzzPod[] = [];

  /** Addresses ipamd still holds for us. */
  allocated(): string[] {
    return [...this.alive.values(), ...this.pending.values()].map((p) => p.ip);
  }

  /** cni.dev/valid-attachments as the runtime would send it: everything not yet deleted. */
  validAttachments(): { containerID: string; ifname: string }[] {
    return [...this.alive.values(), ...this.pending.values()].map((p) => ({
      containerID: p.cid,
      ifname: p.env['CNI_IFNAME'] ?? 'eth0',
    }));
  }

  /** Host state that exactly the surviving pods own (same shape as World.hostState). */
  expectedHost(): { routes: string[]; rules: string[]; links: string[] } {
    const routes: string[] = [];
    const rules: string[] = [];
    const links = new Set<string>();
    for (const p of [...this.alive.values(), ...[...this.pending.values()].filter((q) => !q.cleaned)]) {
      routes.push(`${p.ip} dev ${p.hostIf}`);
      rules.push(`512 to ${p.ip} main`);
      if (p.table !== 254) rules.push(`1536 from ${p.ip} ${p.table}`);
      links.add(p.hostIf);
    }
    for (const p of this.pending.values()) links.add(p.hostIf); // the veth lives until the netns goes
    return { routes: routes.sort(), rules: rules.sort(), links: [...links].sort() };
  }
}
