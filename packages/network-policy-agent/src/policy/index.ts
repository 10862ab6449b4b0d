// Policy logic: the rule model, the compiler into NP map content, and pure evaluators used by the tests.
export * from './types.js';
export {
  compileNpMap,
  catchAll,
  cidrWithin,
  DENY_ENTRIES,
  type CompileOptions,
  type CompileResult,
} from './compile.js';
export { encodeRanges, portRange, type PortRange } from './ports.js';
export { npLookup, newFlowVerdict, entryMatches, type NpVerdict } from './lookup.js';
export { referenceAllows } from './reference.js';
