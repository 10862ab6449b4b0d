// Host route table of an ENI (docs/architecture.md#route-tables-and-rule-priorities): card 0 uses main for the
// primary ENI and device + 1 otherwise; card c > 0 uses 10000 + 100·c + device, unless the node image already
// routes the ENI's primary address through a rule of its own, which is then reused.

export interface ExistingRule {
  /** The rule's `from` address (with or without a /32, /128 suffix). */
  from: string;
  table: number;
}

export interface TableChoice {
  table: number;
  /** A rule for the ENI's primary address exists already: do not add one. */
  ruleExists: boolean;
}

export const cardTable = (card: number, deviceNumber: number): number =>
  card === 0 ? deviceNumber + 1 : 10000 + 100 * card + deviceNumber;

const bare = (a: string): string => a.replace(/\/(32|128)$/, '').toLowerCase();

export function routeTableForEni(
  eni: { card: number; deviceNumber: number; primaryIp: string; isPrimary: boolean },
  rules: readonly ExistingRule[],
  maxEni: number,
): TableChoice {
  if (eni.isPrimary) return { table: 254, ruleExists: false };
  const fallback = cardTable(eni.card, eni.deviceNumber);
  if (eni.card === 0) return { table: fallback, ruleExists: false };
  const mine = rules.filter((r) => bare(r.from) === bare(eni.primaryIp));
  if (mine.length === 0) return { table: fallback, ruleExists: false };
  if (mine.length === 1) return { table: mine[0]!.table, ruleExists: true };
  // Several: older releases numbered card tables device + 1 + card·maxENI; prefer that one when present.
  const legacy = eni.deviceNumber + 1 + eni.card * maxEni;
  return { table: mine.some((r) => r.table === legacy) ? legacy : fallback, ruleExists: true };
}
