// EniPlumbing over the netlink module: wait for the hot-plugged link, then configure it
// (docs/architecture.md#per-eni-host-networking).
import { Netlink } from '@vpc-cni/shared/netlink';
import type { EniPlumbing } from '../eni/plumbing.js';
import {
  DEFAULT_FIND,
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
      withNl((nl) =>
        setupEniNetwork(nl, {
          mac: e.mac,
          primaryIp: e.primaryIp,
          subnetCidr: e.subnetCidr,
          table: e.table,
          mtu,
          isTrunk: e.isTrunk ?? false,
        }),
      );
    },
    async down(e) {
      withNl((nl) => teardownEniNetwork(nl, { primaryIp: e.primaryIp, table: e.table }));
    },
  };
}
