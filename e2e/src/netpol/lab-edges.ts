// The policy lab's edges (docs/network-policy-cases.md, "Endpoints that are not pods"): an outside namespace
// standing for everything beyond the node (the VPC, other nodes, the internet) behind the node's eth0, endpoints
// in it; the node's own address as a host-network endpoint; ClusterIP Services as kube-proxy makes them (DNAT in
// the node namespace, before routing: the pod's egress program sees the ClusterIP, the backend's ingress program
// the backend address). All of it lives in the lab's throwaway namespaces and goes with stop().
import { execFileSync } from 'node:child_process';
import type { NetpolLab } from './lab.js';
import { SERVER } from './lab-scripts.js';

const ip = (...a: string[]): void => {
  execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
};

/**
 * The outside namespace, holding `endpoints` (key → address, each on its loopback) and serving `serve` on all
 * of them (one server per address); the node routes everything it has no route for to it, and it routes the pod network back to the node.
 */
export function addOutside(
  lab: NetpolLab,
  endpoints: { key: string; ip: string }[],
  serve: { tcp: number[]; udp: number[] },
  podCidr: string,
): void {
  const out = `npl-${lab.tag}-out`;
  ip('netns', 'add', out);
  lab.onStop(() => ip('netns', 'del', out));
  ip('-n', lab.nodeNs, 'link', 'set', 'eth0-peer', 'netns', out);
  ip('-n', out, 'link', 'set', 'lo', 'up');
  ip('-n', out, 'link', 'set', 'eth0-peer', 'up');
  for (const e of endpoints) ip('-n', out, 'addr', 'add', `${e.ip}/32`, 'dev', 'lo');
  ip('-n', out, 'route', 'add', `${lab.nodeIp}/32`, 'dev', 'eth0-peer');
  ip('-n', out, 'route', 'add', podCidr, 'via', lab.nodeIp, 'dev', 'eth0-peer');
  ip('-n', lab.nodeNs, 'route', 'add', 'default', 'dev', 'eth0');
  for (const e of endpoints) {
    lab.spawnIn(out, process.execPath, '-e', SERVER, serve.tcp.join(','), serve.udp.join(','), e.ip);
    const [namespace, name] = e.key.split('/') as [string, string];
    lab.pods.set(e.key, { name, namespace, ns: out, ip: e.ip, bind: e.ip });
  }
}

/** The node's own address as an endpoint (a host-network pod on the lab node), serving `serve`. */
export function addNodeEndpoint(lab: NetpolLab, key: string, serve: { tcp: number[]; udp: number[] }): void {
  const [namespace, name] = key.split('/') as [string, string];
  lab.spawnIn(
    lab.nodeNs,
    process.execPath,
    '-e',
    SERVER,
    serve.tcp.join(','),
    serve.udp.join(','),
    lab.nodeIp,
  );
  lab.pods.set(key, { name, namespace, ns: lab.nodeNs, ip: lab.nodeIp, bind: lab.nodeIp });
}

/** A ClusterIP: DNAT of each Service port to the backend's target port, as kube-proxy's iptables mode does. */
export function addClusterIp(
  lab: NetpolLab,
  key: string,
  clusterIp: string,
  ports: { port: number; targetPort: number; protocol: 'TCP' | 'UDP' }[],
  backendIp: string,
): void {
  for (const p of ports)
    execFileSync(
      'ip',
      [
        'netns',
        'exec',
        lab.nodeNs,
        'iptables',
        '-t',
        'nat',
        '-A',
        'PREROUTING',
        '-d',
        `${clusterIp}/32`,
        '-p',
        p.protocol.toLowerCase(),
        '--dport',
        String(p.port),
        '-j',
        'DNAT',
        '--to-destination',
        `${backendIp}:${p.targetPort}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  const [namespace, name] = key.split('/') as [string, string];
  lab.pods.set(key, { name, namespace, ns: '', ip: clusterIp });
}
