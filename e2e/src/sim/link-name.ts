// The name a simulated node gives the link of an attached ENI. Real Linux names NICs by bus order and ipamd finds
// an ENI's link by its MAC, so any stable, unique name works: eth<device> on network card 0 (eth0 = the primary
// ENI) and c<card>eth<device> on the other cards.
export const nodeLinkName = (card: number, device: number): string =>
  card === 0 ? `eth${device}` : `c${card}eth${device}`;
