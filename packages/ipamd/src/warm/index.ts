// Warm-pool arithmetic (docs/architecture.md#warm-pool): when to grow, by how much, when to give back, which
// ENI to free.
export * from './types.js';
export { PoolModel, type ModelEni } from './model.js';
export { cardPoolLimits, cardWarmConfig } from './cards.js';
export {
  MIN_ENI_AGE_MS,
  PREFIX_SIZE,
  decreaseCount,
  deletableEni,
  isPoolTooHigh,
  isPoolTooLow,
  planIncrease,
  poolLimits,
  shouldRemoveExtraEnis,
  targetState,
  targetsDefined,
} from './arithmetic.js';
