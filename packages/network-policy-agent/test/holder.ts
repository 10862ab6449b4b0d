// A process holding the datapath, for the restart tests: attaches `key` to `veth` (adopting pins when they
// exist), writes the ingress policy given as JSON, prints "ready <ingress prog id> <egress prog id>" and waits
// to be killed. Usage: holder.ts <pinRoot> <netns> <veth> <key> <ingress policy JSON> [objectDir]
import { PodState } from '../src/datapath/contract.js';
import { EbpfDatapath } from '../src/datapath/datapath.js';

const [pinRoot, netns, veth, key, policyJson, objectDir] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string | undefined,
];
const dp = new EbpfDatapath({ family: 'ipv4', pinRoot, netns, objectDir });
dp.attach(key, [veth], { np: PodState.DefaultDeny, cp: PodState.DefaultAllow });
const policy = new Map(Object.entries(JSON.parse(policyJson) as Record<string, never[]>));
dp.writePolicy(key, 'ingress', policy);
dp.setState(key, 'ingress', 'np', PodState.PoliciesApplied);
const k = dp.listKeys().find((x) => x.key === key)!;
const a = k.attached[0]!;
process.stdout.write(`ready ${a.ingressProgId} ${a.egressProgId} ${process.pid}\n`);
setInterval(() => undefined, 1 << 30);
