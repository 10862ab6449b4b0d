// Stands in for the `koffi` package inside SEA bundles (see scripts/build-sea.mjs): exports koffi's native module
// directly. koffi's own index only adds deprecation shims around it, and its platform probing and module
// plumbing cost ~10 ms per process start, which every CNI call would pay.
'use strict';
module.exports = require('./koffi-sea.cjs').loadStatic();
