export { type Logger, type LogFn, silentLogger } from './logger.js';
export { createLogger, type LoggerOptions, type LevelName } from './create.js';
export { serializeError, type SerializedError } from './serialize-error.js';
