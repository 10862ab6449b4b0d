// Warm-pool inputs per network card (docs/architecture.md#warm-pool): card 0 follows the variables; every other
// managed card keeps one address warm and at least one address (WARM_IP_TARGET=1, MINIMUM_IP_TARGET=1), since only
// multi-NIC pods take addresses there. Limits come from the card's own ENI count, capped by MAX_ENI.
import type { NetworkCard } from '@vpc-cni/shared/limits';
import { poolLimits } from './arithmetic.js';
import type { PoolLimits, WarmConfig } from './types.js';

export function cardWarmConfig(card: number, cfg: WarmConfig): WarmConfig {
  return card === 0
    ? cfg
    : { ...cfg, warmEniTarget: 0, warmPrefixTarget: 0, warmIpTarget: 1, minimumIpTarget: 1 };
}

export function cardPoolLimits(
  card: number,
  instance: { ipv4PerEni: number; networkCards: readonly NetworkCard[] },
  cfg: WarmConfig,
): PoolLimits {
  const nc = instance.networkCards.find((c) => c.index === card);
  if (!nc)
    throw new Error(
      `network card ${card} is not one of the instance type's cards (${instance.networkCards.map((c) => c.index).join(', ')})`,
    );
  return poolLimits({ enis: nc.maxEnis, ipv4PerEni: instance.ipv4PerEni }, cfg);
}
