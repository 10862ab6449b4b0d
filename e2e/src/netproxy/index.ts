// Reaching servers of the test process from inside network namespaces, without touching the root netns:
// unix-socket bridges plus a TCP→unix proxy started in the namespace.
export { bridgeToUnix } from './unix-bridge.js';
export { startNetnsProxy, type NetnsProxy, type ProxyMapping } from './netns-proxy.js';
