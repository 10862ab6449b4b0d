// Replaces koffi's `src/static.cjs` inside SEA bundles (see scripts/build-sea.mjs): koffi's native addon travels
// as the SEA asset `koffi.node`; it is written once to a content-addressed file and loaded with process.dlopen.
// The content hash is computed at build time (__KOFFI_NODE_SHA256__), so a warm start is one stat and a dlopen.
// Concurrent runs are safe: each writes a private temp file and renames it into place.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function loadStatic() {
  let sea;
  try {
    sea = require('node:sea');
  } catch {
    sea = undefined;
  }
  if (!sea || !sea.isSea())
    throw new Error('koffi: this bundle expects to run as a single executable (no node:sea)');
  let data; // read only when the extracted copy is missing
  const asset = () => (data ??= Buffer.from(sea.getAsset('koffi.node')));
  /* global __KOFFI_NODE_SHA256__ */
  const hash =
    typeof __KOFFI_NODE_SHA256__ === 'string'
      ? __KOFFI_NODE_SHA256__
      : require('node:crypto').createHash('sha256').update(asset()).digest('hex').slice(0, 16);
  const name = `koffi-${hash}.node`;
  // node:os is loaded only when the first two have failed: it costs every start ~0.5 ms otherwise.
  const dirs = [process.env.VPC_CNI_RUNTIME_DIR, '/run/vpc-cni', () => require('node:os').tmpdir()].filter(
    Boolean,
  );
  let lastErr;
  for (const d of dirs) {
    const dir = typeof d === 'function' ? d() : d;
    const file = path.join(dir, name);
    try {
      if (!fs.existsSync(file)) {
        fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
        const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
        fs.writeFileSync(tmp, asset(), { mode: 0o755 });
        fs.renameSync(tmp, file);
      }
      const mod = { exports: {} };
      process.dlopen(mod, file);
      // Where the addon lives, for worker threads that load it themselves (the network policy agent's
      // flow-event reader).
      mod.exports.__addonPath = file;
      return mod.exports;
    } catch (e) {
      lastErr = e;
    }
  }
  throw new Error(
    `koffi: cannot load the native addon from ${dirs.map((d) => (typeof d === 'function' ? d() : d)).join(' or ')}: ${lastErr && lastErr.message}`,
  );
}

module.exports = { loadStatic };
