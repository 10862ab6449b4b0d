// Network cards (docs/architecture.md#network-cards): which cards ipamd manages, their route tables, and why a
// multi-NIC pod is refused.
export {
  type CardDecision,
  type CardDevice,
  type CardFacts,
  type DeviceKind,
  classifyCards,
  managedCardIndexes,
} from './eligibility.js';
export { type ExistingRule, type TableChoice, cardTable, routeTableForEni } from './tables.js';
export { NIC_CONFIG_ANNOTATION, multiNicRefusal } from './refusal.js';
