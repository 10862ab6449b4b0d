// ipamd's HTTP side: introspection (127.0.0.1:61679) and Prometheus metrics (:61678).
export { type CardCapacity, IpamdMetrics, metricsHandler } from './metrics.js';
export {
  type CardStatus,
  ErrorLog,
  enisDocument,
  networkCardsDocument,
  introspectionHandler,
  rfc3339Nano,
  type RecordedError,
} from './introspection.js';
export { isLoopbackHost, listenHttp, parseBind } from './listen.js';
