// The VPC fabric: real links for the simulator's ENIs. Each instance gets a node netns; an attached ENI appears
// there as eth<device index> with the ENI's MAC (device 0 configured as DHCP would: primary address, default route
// via the subnet gateway; others left down for ipamd). Its peer lives in the fabric netns, the VPC router: it
// answers for the subnet gateway, proxy-ARPs, and routes every address and /28 prefix EC2 says the ENI holds to
// that link (kept in sync with the world), and enforces each ENI's security groups on what it forwards to it
// (security-groups.ts). A trunk ENI's branch ENIs appear as VLAN sub-interfaces of its link, one per trunk
// association (trunk-vlans.ts). An outside netns stands for the internet and knows only the nodes'
// primary addresses, so pods reach it only through SNAT. Nodes launched with an IPv6 address get it on eth0 and
// an IPv6 default route via the router's fe80:ec2::1, and the router routes their ENIs' IPv6 prefixes (pods of an
// IPv6 cluster) via that address; a second, IPv6-only outside netns (OUTSIDE_IPV6) knows only
// those node addresses. Nothing touches the root netns; destroy() removes it all.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type Eni, type Instance, type Sim, nodeLinkName } from '../sim/index.js';
import { applySecurityGroups, renderSecurityGroups } from './security-groups.js';
import { TrunkVlans } from './trunk-vlans.js';
import { addOwnedNetns } from '../harness/owner.js';

export const OUTSIDE_IP = '203.0.113.10';
/** An IPv6-only internet host (its own netns), made when the first node with an IPv6 address plugs in. */
export const OUTSIDE_IPV6 = '2001:db8:ffff::10';
/** The VPC router's IPv6 link-local address, as EC2's (spec: the VPC IPv6 subnet router). */
const ROUTER_LL = 'fe80:ec2::1';

const run = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const quiet = (args: string[]) => {
  try {
    run(args);
  } catch {
    // already gone
  }
};

interface Plugged {
  eniId: string;
  instanceId: string;
  link: string; // fabric-side name
  routes: Set<string>;
}

export class VpcFabric {
  readonly tag = randomBytes(3).toString('hex');
  readonly fabricNs = `vct-vpc-${this.tag}`;
  readonly outsideNs = `vct-out-${this.tag}`;
  /** The IPv6-only outside host (see OUTSIDE_IPV6); exists once a node with an IPv6 address is plugged. */
  readonly outside6Ns = `vct-out6-${this.tag}`;
  private outside6 = false;
  private readonly nodes = new Map<string, string>(); // instance id → netns
  private readonly plugged = new Map<string, Plugged>(); // eni id → link
  private timer: NodeJS.Timeout | undefined;
  private destroyed = false;
  /** The security-group rules last applied in the router (re-applied only when they change). */
  private sgScript = '';
  /** Why the last security-group update failed, if it did (tests assert it is unset). */
  sgError: string | undefined;
  /** Branch ENIs: VLAN sub-interfaces of their trunk's link. */
  private readonly vlans = new TrunkVlans(this.fabricNs);
  /** Why the last branch-ENI (VLAN) update failed, if it did (tests assert it is unset). */
  vlanError: string | undefined;

  private constructor(readonly sim: Sim) {}

  static create(sim: Sim): VpcFabric {
    const f = new VpcFabric(sim);
    try {
      f.init();
    } catch (e) {
      f.destroy();
      throw e;
    }
    sim.onAttach((eni, inst) => f.plug(eni, inst));
    sim.onDetach((eni) => f.unplug(eni));
    // Assign/unassign change no link: keep the fabric's routes in step with EC2's view.
    f.timer = setInterval(() => f.sync(), 50).unref();
    return f;
  }

  private init(): void {
    for (const ns of [this.fabricNs, this.outsideNs]) {
      addOwnedNetns(ns);
      run(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    run(['netns', 'exec', this.fabricNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    run([
      '-n',
      this.fabricNs,
      'link',
      'add',
      'igw',
      'type',
      'veth',
      'peer',
      'name',
      'wan',
      'netns',
      this.outsideNs,
    ]);
    run(['-n', this.fabricNs, 'link', 'set', 'igw', 'up']);
    run(['-n', this.outsideNs, 'addr', 'add', `${OUTSIDE_IP}/32`, 'dev', 'wan']);
    run(['-n', this.outsideNs, 'link', 'set', 'wan', 'up']);
    // The internet side asks for node addresses by ARP: the router answers for them.
    run([
      'netns',
      'exec',
      this.fabricNs,
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.conf.igw.proxy_arp=1',
      'net.ipv4.neigh.igw.proxy_delay=0',
    ]);
    // Everything not in the VPC goes to the internet gateway.
    run(['-n', this.fabricNs, 'route', 'add', 'default', 'dev', 'igw']);
  }

  /** The node netns of an instance (created on its first attach, i.e. at launch). */
  nodeNetns(instanceId: string): string {
    const ns = this.nodes.get(instanceId);
    if (!ns)
      throw new Error(`no node netns for ${instanceId}: was it launched after the fabric was created?`);
    return ns;
  }

  private ensureNode(inst: Instance): string {
    let ns = this.nodes.get(inst.id);
    if (ns) return ns;
    ns = `vct-node-${this.tag}-${this.nodes.size}`;
    addOwnedNetns(ns);
    run(['-n', ns, 'link', 'set', 'lo', 'up']);
    this.nodes.set(inst.id, ns);
    return ns;
  }

  private plug(eni: Eni, inst: Instance): void {
    if (this.destroyed) return;
    const ns = this.ensureNode(inst);
    // An EFA-only interface is an RDMA device with no IP stack: no netdev appears in the node.
    if (eni.interfaceType === 'efa-only') return;
    const dev = eni.attachment!.deviceIndex;
    const card = eni.attachment!.networkCardIndex;
    const link = `n${[...this.nodes.keys()].indexOf(inst.id)}${card === 0 ? '' : `c${card}`}d${dev}`;
    const subnet = this.sim.world.subnet(eni.subnetId);
    const [base, bits] = subnet.cidr.split('/') as [string, string];
    const gw = base.replace(/\d+$/, (d) => String(Number(d) + 1));
    run([
      '-n',
      ns,
      'link',
      'add',
      nodeLinkName(card, dev),
      'address',
      eni.mac,
      'type',
      'veth',
      'peer',
      'name',
      link,
      'netns',
      this.fabricNs,
    ]);
    run(['-n', this.fabricNs, 'addr', 'add', `${gw}/32`, 'dev', link]);
    run(['-n', this.fabricNs, 'link', 'set', link, 'up']);
    // Proxy-ARP for the whole VPC, answered at once (the kernel otherwise delays proxy replies by up to 0.8 s).
    run([
      'netns',
      'exec',
      this.fabricNs,
      'sysctl',
      '-q',
      '-w',
      `net.ipv4.conf.${link}.proxy_arp=1`,
      `net.ipv4.neigh.${link}.proxy_delay=0`,
    ]);
    if (dev === 0 && card === 0) {
      run(['-n', ns, 'addr', 'add', `${eni.primaryIp}/${bits}`, 'dev', 'eth0']);
      run(['-n', ns, 'link', 'set', 'eth0', 'up']);
      run(['-n', ns, 'route', 'add', 'default', 'via', gw, 'dev', 'eth0']);
      // The internet knows the node's primary address only (as an internet gateway maps a public IP).
      run(['-n', this.outsideNs, 'route', 'replace', `${eni.primaryIp}/32`, 'dev', 'wan']);
      const v6 = eni.ipv6Addresses[0];
      if (v6) this.plugIpv6(ns, link, v6);
    }
    this.plugged.set(eni.id, { eniId: eni.id, instanceId: inst.id, link, routes: new Set() });
    this.syncEni(eni);
  }

  /**
   * A node's primary IPv6 address (as DHCPv6/RA would configure it: the address on eth0, default route via the
   * router's link-local), routed by the router; the IPv6-only outside host knows that address only.
   */
  private plugIpv6(ns: string, link: string, v6: string): void {
    if (!this.outside6) {
      addOwnedNetns(this.outside6Ns);
      this.outside6 = true;
      run(['-n', this.outside6Ns, 'link', 'set', 'lo', 'up']);
      run(['netns', 'exec', this.fabricNs, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
      run([
        '-n',
        this.fabricNs,
        'link',
        'add',
        'igw6',
        'type',
        'veth',
        'peer',
        'name',
        'wan6',
        'netns',
        this.outside6Ns,
      ]);
      run(['-n', this.fabricNs, 'addr', 'add', `${ROUTER_LL}/64`, 'dev', 'igw6', 'nodad']);
      run(['-n', this.fabricNs, 'link', 'set', 'igw6', 'up']);
      run(['-n', this.outside6Ns, 'addr', 'add', `${OUTSIDE_IPV6}/128`, 'dev', 'wan6', 'nodad']);
      run(['-n', this.outside6Ns, 'link', 'set', 'wan6', 'up']);
      run(['-n', this.fabricNs, '-6', 'route', 'add', `${OUTSIDE_IPV6}/128`, 'dev', 'igw6']);
    }
    run(['-n', this.fabricNs, 'addr', 'add', `${ROUTER_LL}/64`, 'dev', link, 'nodad']);
    run(['-n', ns, 'addr', 'add', `${v6}/128`, 'dev', 'eth0', 'nodad']);
    run(['-n', ns, '-6', 'route', 'add', 'default', 'via', ROUTER_LL, 'dev', 'eth0']);
    run(['-n', this.fabricNs, '-6', 'route', 'replace', `${v6}/128`, 'dev', link]);
    run(['-n', this.outside6Ns, '-6', 'route', 'replace', `${v6}/128`, 'via', ROUTER_LL, 'dev', 'wan6']);
  }

  private unplug(eni: Eni): void {
    const p = this.plugged.get(eni.id);
    if (!p) return;
    this.plugged.delete(eni.id);
    quiet(['-n', this.fabricNs, 'link', 'del', p.link]); // removes the peer in the node and the link's routes
  }

  private syncEni(eni: Eni): void {
    const p = this.plugged.get(eni.id);
    if (!p || !eni.primaryIp) return; // an efa-only interface carries no IP traffic
    // The VPC delivers to the ENI by its MAC, it does not ARP for pod addresses: the ENI's own address gets a
    // permanent neighbour entry, every other address and prefix is routed via it.
    if (!p.routes.has('neigh')) {
      run([
        '-n',
        this.fabricNs,
        'neigh',
        'replace',
        eni.primaryIp,
        'lladdr',
        eni.mac,
        'dev',
        p.link,
        'nud',
        'permanent',
      ]);
      run(['-n', this.fabricNs, 'route', 'replace', `${eni.primaryIp}/32`, 'dev', p.link]);
      p.routes.add('neigh');
    }
    const want = new Set([...eni.secondaryIps.map((ip) => `${ip}/32`), ...eni.ipv4Prefixes]);
    // IPv6 prefixes (an IPv6 node's /80) go via the ENI's own IPv6 address, as /28s go via its primary address.
    const v6 = eni.ipv6Addresses[0];
    if (v6 && this.outside6) for (const r of eni.ipv6Prefixes) want.add(r);
    for (const r of want)
      if (!p.routes.has(r)) {
        const via = r.includes(':')
          ? ['-6', 'route', 'replace', r, 'via', v6!]
          : ['route', 'replace', r, 'via', eni.primaryIp];
        run(['-n', this.fabricNs, ...via, 'dev', p.link, 'onlink']);
        p.routes.add(r);
      }
    for (const r of p.routes)
      if (r !== 'neigh' && !want.has(r)) {
        quiet(['-n', this.fabricNs, ...(r.includes(':') ? ['-6'] : []), 'route', 'del', r, 'dev', p.link]);
        p.routes.delete(r);
      }
  }

  /** Bring the fabric's routes and security-group rules in line with EC2's view now (also runs every 50 ms). */
  sync(): void {
    if (this.destroyed) return;
    for (const p of this.plugged.values()) {
      const eni = this.sim.world.enis.get(p.eniId);
      if (eni) this.syncEni(eni);
    }
    try {
      this.vlans.sync(this.sim.world, (id) => this.plugged.get(id)?.link);
      this.vlanError = undefined;
    } catch (e) {
      // Runs from a timer: report (e.g. a kernel without 802.1Q), retry on the next sync.
      this.vlanError = `branch ENI VLANs not plugged: ${String(e)}`;
    }
    const script = renderSecurityGroups(this.sim.world, [...this.plugged.values(), ...this.vlans.plugged()]);
    if (script !== this.sgScript) {
      try {
        applySecurityGroups(this.fabricNs, script);
        this.sgScript = script;
      } catch (e) {
        // Runs from a timer: report, keep the last rules, retry on the next sync.
        this.sgError = `security groups not applied: ${String(e)}`;
        return;
      }
      this.sgError = undefined;
    }
  }

  destroy(): void {
    this.destroyed = true;
    clearInterval(this.timer);
    for (const ns of [...this.nodes.values(), this.fabricNs, this.outsideNs]) quiet(['netns', 'del', ns]);
    if (this.outside6) quiet(['netns', 'del', this.outside6Ns]);
    this.nodes.clear();
    this.plugged.clear();
  }
}
