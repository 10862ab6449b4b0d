// SEA main for executables whose start-up time matters (aws-cni): runs the bundle, carried as the asset
// `main.js`, from a V8 code cache (`main.cache`) made at build time with every function compiled. Node's own
// SEA code cache holds only top-level code, so each function would otherwise be compiled on its first call,
// which is most of what a one-shot CNI invocation does. V8 accepts a cache only under the flags it was made
// with, so --no-lazy is set around this one compilation and reset right after (Node's internals keep theirs).
'use strict';
const sea = require('node:sea');

// VERSION must stay at the bare start-up floor: it is answered with the bundle's own answer, recorded at
// build time (asset `version.out`), under the same conditions main.ts answers it (no flag, not egress-cni).
const fastVersion =
  process.env.CNI_COMMAND === 'VERSION' &&
  process.argv[2] === undefined &&
  require('node:path').basename(process.argv0) !== 'egress-cni';
if (fastVersion) require('node:fs').writeSync(1, sea.getAsset('version.out', 'utf8'));
else run();

function run() {
  const vm = require('node:vm');
  const v8 = require('node:v8');
  const source = sea.getAsset('main.js', 'utf8');
  v8.setFlagsFromString('--no-lazy');
  let script;
  try {
    script = new vm.Script(source, {
      filename: 'aws-cni.js',
      cachedData: Buffer.from(sea.getAsset('main.cache')),
    });
  } finally {
    v8.setFlagsFromString('--lazy');
  }
  if (script.cachedDataRejected && process.env.VPC_CNI_DEBUG_CODE_CACHE) {
    process.stderr.write('code cache rejected: the bundle is compiled from source\n');
  }
  /* global __filename, __dirname */
  script.runInThisContext()(require, module, module.exports, __filename, __dirname);
}
