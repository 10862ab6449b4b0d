export { maxPodsCommand } from './main.js';
export { parseMaxPodsArgs, type MaxPodsArgs, MaxPodsUsageError, HELP } from './args.js';
