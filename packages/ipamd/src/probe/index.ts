export { probe } from './main.js';
export { parseProbeArgs, parseDuration, ProbeExit, type ProbeOptions, UsageError } from './args.js';
