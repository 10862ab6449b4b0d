// EniPlumbing over the netlink module: wait for the hot-plugged link, then configure it
// (docs/architecture.md#per-eni-host-networking).
import { Netlink } from '@vpc-cni/shared/netlink';
import type { EniPlumbing } from '../eni/plumbing.js';
import {
  DEFAULT_FIND,
  eniTable,
  type FindLinkOptions,
  setupEniNetwork,
  teardownEniNetwork,
  waitForLink,
} from './eni-network.js';

export function netlinkPlumbing(mtu: number, find: FindLinkOptions = DEFAULT_FIND): EniPlumbing {
  const withNl = <T>(fn: (nl: Netlink) => T): T => {
    const nl = Netlink.open();
    try {
      return fn(nl);
    } finally {
      nl.close();
    }
  };
  return {
    async up(e) {
      await waitForLink(e.mac, find);
      return withNl((nl) => {
        const { table, ruleExists } = eniTable(nl, {
          card: e.card ?? 0,
          deviceNumber: e.deviceNumber,
          primaryIp: e.primaryIp,
          maxEni: e.maxEni ?? 0,
          fallback: e.table,
        });
        setupEniNetwork(nl, {
          mac: e.mac,
          primaryIp: e.primaryIp,
          subnetCidr: e.subnetCidr,
          table,
          mtu,
          isTrunk: e.isTrunk ?? false,
          ruleExists,
        });
        return table;
      });
    },
    async down(e) {
      withNl((nl) => teardownEniNetwork(nl, { primaryIp: e.primaryIp, table: e.table }));
    },
  };
}
