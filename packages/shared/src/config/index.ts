// Typed, validated configuration from environment variables (upstream names and defaults).
export { ConfigError, ConfigErrors } from './errors.js';
export { loadSettings, type Env } from './load.js';
export {
  loadIpamdConfig,
  loadEntrypointConfig,
  loadInitConfig,
  type IpamdConfig,
  type EntrypointConfig,
  type InitConfig,
} from './components.js';
export { variables, LOG_LEVELS, type LogLevelName, type Settings, type VariableName } from './variables.js';
export type { Component, Variable } from './variable.js';
export { renderConfigTable, DOCS_BEGIN, DOCS_END } from './docs.js';
export { parseBool, parseIPv4CidrList } from './parsers.js';
