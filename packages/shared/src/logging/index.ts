export { type Logger, type LogFn, silentLogger } from './logger.js';
