// gRPC edges of the agent: the NPBackend server the plugin calls, and the start-up query to ipamd.
export { startNpServer, disabledHandlers, NPA_HEALTH_SERVICE, type NpHandlers } from './np-server.js';
export { fetchNetworkPolicyConfig, interpretMode, type ModeAnswer } from './ipamd-config.js';
