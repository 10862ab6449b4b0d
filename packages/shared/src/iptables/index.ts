// iptables for ipamd's host networking: parse iptables-save, plan a converging iptables-restore, run the tools
// in a given network namespace.
export { parseSave, type ChainState, type TableState } from './save.js';
export { detectBackend, iptablesRunner, type Backend, type Family, type IptablesRunner } from './exec.js';
export { planTable, reconcile, type TableSpec } from './reconcile.js';
