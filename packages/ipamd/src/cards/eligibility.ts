// Which network cards ipamd manages (docs/architecture.md#network-cards): card 0 always; with ENABLE_MULTI_NIC
// every other card of the instance type too, except a card whose only device is an EFA-only interface (that card
// belongs to the EFA workload, not to pods). Pure: the facts come from the instance limits and IMDS.

/** What EC2 calls the interface type of an attached device (IMDS `interface-type`, DescribeNetworkInterfaces). */
export type DeviceKind = 'interface' | 'efa' | 'efa-only';

export interface CardDevice {
  eniId: string;
  kind: DeviceKind;
  /** Managed by this ipamd (tags, MANAGE_UNTAGGED_ENI; docs/architecture.md#network-cards). */
  managed: boolean;
}

export interface CardFacts {
  index: number;
  devices: readonly CardDevice[];
}

export type CardDecision =
  { index: number; managed: true; why: string } | { index: number; managed: false; why: string };

/**
 * One decision per card of the instance type (ascending index). `cards` lists the type's card indexes; `devices`
 * the ENIs attached now, grouped by card (cards with none may be omitted).
 */
export function classifyCards(
  cardIndexes: readonly number[],
  devices: readonly CardFacts[],
  multiNic: boolean,
): CardDecision[] {
  const byCard = new Map(devices.map((c) => [c.index, c.devices]));
  return [...new Set(cardIndexes)]
    .sort((a, b) => a - b)
    .map((index): CardDecision => {
      if (index === 0) return { index, managed: true, why: 'network card 0 holds the primary ENI' };
      if (!multiNic) return { index, managed: false, why: 'ENABLE_MULTI_NIC is false' };
      const list = byCard.get(index) ?? [];
      const efaOnly = list.filter((d) => d.kind === 'efa-only');
      if (efaOnly.length === 0)
        return {
          index,
          managed: true,
          why: list.length === 0 ? 'no device attached yet' : 'its devices are ENA or EFA interfaces',
        };
      const other = list.find((d) => d.kind !== 'efa-only' && d.managed);
      if (other)
        return {
          index,
          managed: true,
          why: `EFA-only ${efaOnly[0]!.eniId} shares it with managed ${other.eniId}`,
        };
      return {
        index,
        managed: false,
        why: `it holds the EFA-only interface ${efaOnly[0]!.eniId} and no managed ENA interface`,
      };
    });
}

export const managedCardIndexes = (d: readonly CardDecision[]): number[] =>
  d.filter((c) => c.managed).map((c) => c.index);
