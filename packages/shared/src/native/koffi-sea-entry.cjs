// Stands in for the `koffi` package inside SEA bundles (see scripts/build-sea.mjs): koffi's native module
// directly. koffi's own index only adds deprecation shims around it, and its platform probing and module
// plumbing cost ~10 ms per process start, which every CNI call would pay.
// The addon is loaded on first use, not on import: a failure to load it is then the error of the operation that
// needed it (aws-cni answers it as CNI error JSON), and code paths that never call it do not pay for it.
'use strict';
let koffi;
const load = () => (koffi ??= require('./koffi-sea.cjs').loadStatic());

module.exports = new Proxy(
  {},
  {
    get(_target, prop) {
      // The bundler's interop asks this on import; answering it must not load the addon.
      if (prop === '__esModule') return undefined;
      return load()[prop];
    },
  },
);
