// A minimal hot-plug for tests without the VPC fabric: every ENI the simulator attaches to the instance appears in
// the node netns as eth<device index> with the ENI's MAC (down, like a new NIC; eth0 comes up with its address),
// its peer parked in a second namespace (an EFA-only interface has no netdev, so none); detach removes it. No routing behind it: traffic tests use the fabric.
import { execFileSync } from 'node:child_process';
import { type Sim, nodeLinkName } from '../sim/index.js';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function linkHotplug(
  sim: Sim,
  instanceIdOf: () => string | undefined,
  nodeNs: string,
  parkNs: string,
): void {
  sim.onAttach((eni, instance) => {
    const known = instanceIdOf();
    if (known !== undefined && instance.id !== known) return;
    if (eni.interfaceType === 'efa-only') return; // an RDMA device with no IP stack: no netdev in the node
    const dev = eni.attachment!.deviceIndex;
    const card = eni.attachment!.networkCardIndex;
    ip(
      '-n',
      nodeNs,
      'link',
      'add',
      nodeLinkName(card, dev),
      'address',
      eni.mac,
      'type',
      'veth',
      'peer',
      'name',
      card === 0 ? `p${dev}` : `p${card}c${dev}`,
      'netns',
      parkNs,
    );
    if (dev === 0 && card === 0) {
      const bits = sim.world.subnet(eni.subnetId).cidr.split('/')[1]!;
      ip('-n', nodeNs, 'addr', 'add', `${eni.primaryIp}/${bits}`, 'dev', 'eth0');
      ip('-n', nodeNs, 'link', 'set', 'eth0', 'up');
    }
  });
  sim.onDetach((eni, instance) => {
    const known = instanceIdOf();
    if (known !== undefined && instance.id !== known) return;
    if (eni.interfaceType === 'efa-only') return;
    const a = eni.attachment;
    ip('-n', nodeNs, 'link', 'del', nodeLinkName(a?.networkCardIndex ?? 0, a?.deviceIndex ?? 99));
  });
}
