// The eBPF datapath (see ../../README.md, "Datapath").
export * from './contract.js';
export {
  EbpfDatapath,
  defaultObjectDir,
  DEFAULT_CONNTRACK_ENTRIES,
  type DatapathOptions,
} from './datapath.js';
export { DatapathError, isDatapathError, type DatapathErrorCode } from './errors.js';
export { DEFAULT_PIN_ROOT } from './pins.js';
export { enableRunStats, progRunStats, type ProgRunStats } from './prog-stats.js';
