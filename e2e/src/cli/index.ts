export {
  parseWorldFile,
  readWorldFile,
  WorldFileError,
  type WorldFile,
  type NodeSpec,
} from './world-file.js';
export { runWorld, type RunningWorld, type RunningNode } from './run-world.js';
