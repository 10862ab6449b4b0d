// ipamd's HTTP side: introspection (127.0.0.1:61679) and Prometheus metrics (:61678).
export { IpamdMetrics, metricsHandler } from './metrics.js';
export {
  ErrorLog,
  enisDocument,
  introspectionHandler,
  rfc3339Nano,
  type RecordedError,
} from './introspection.js';
export { isLoopbackHost, listenHttp, parseBind } from './listen.js';
