// Helper process for egress-ipam.test.ts: reserves addresses of a /28 for 10 containers, printing each address
// (or "full"), so several of these race on one directory.
import { HostLocalStore, ipamRange } from '../src/egress/ipam.js';

const [dir = '', worker = '0'] = process.argv.slice(2);
const range = ipamRange({ subnet: '169.254.172.0/28', routes: [], dataDir: dir });
const store = new HostLocalStore(dir, 'aws-cni');
for (let i = 0; i < 10; i++) {
  try {
    process.stdout.write(`${store.reserve(`w${worker}-c${i}`, 'eth0', range)}\n`);
  } catch {
    process.stdout.write('full\n');
  }
}
