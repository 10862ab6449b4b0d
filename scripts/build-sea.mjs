// Builds the single executables into dist/bin/: esbuild bundles each entry to one CommonJS file, then Node's
// single-executable-application support (code cache on) turns it into a binary with postject.
//   aws-cni          packages/cni-plugin/src/main.ts  (+ hardlink egress-cni)
//   aws-k8s-agent    packages/ipamd/src/main.ts       (+ hardlinks aws-vpc-cni, aws-vpc-cni-init)
//   dist/bench/hello bench/src/hello.ts               (the bare SEA floor for start-up benchmarks)
// koffi's native addon goes in as the SEA asset `koffi.node` (see packages/shared/src/native/koffi-sea.cjs).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { awsSdkDirectImports } from './sea/aws-sdk-imports.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const version = rootPackage.version;
// Every executable embeds the pinned runtime (package.json `nodeRuntime`, installed by scripts/bootstrap.sh),
// whichever node runs this script; the blob and the code caches are made by that same runtime.
const runtime = join(root, '.tools/node/bin/node');
{
  let have = '';
  try {
    have = execFileSync(runtime, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported below
  }
  if (have !== `v${rootPackage.nodeRuntime}`) {
    console.error(
      `build-sea: the pinned Node runtime v${rootPackage.nodeRuntime} is not at ${runtime} (found ${have || 'nothing'}); run: bash scripts/bootstrap.sh`,
    );
    process.exit(1);
  }
}
const work = join(root, 'dist/sea-work');
const require = createRequire(import.meta.url);
const postjectCli = join(dirname(require.resolve('postject')), 'cli.js');

// koffi's prebuilt addon is an optional dependency of koffi itself, so resolve it from koffi's own directory.
const koffiMain = createRequire(join(root, 'packages/shared/package.json')).resolve('koffi');
const koffiNode = join(
  dirname(createRequire(koffiMain).resolve('@koromix/koffi-linux-x64')),
  'linux_x64/koffi.node',
);
const koffiSeaEntry = join(root, 'packages/shared/src/native/koffi-sea-entry.cjs');
// The loader names its extracted copy by this hash, so a warm start needs no read or hash of the asset.
const koffiHash = createHash('sha256').update(readFileSync(koffiNode)).digest('hex').slice(0, 16);

/** Replaces the `koffi` package with its native module, loaded from the SEA asset. */
const koffiPlugin = {
  name: 'koffi-sea',
  setup(b) {
    b.onResolve({ filter: /^koffi$/ }, () => ({ path: koffiSeaEntry }));
  },
};

/**
 * Replaces `whatwg-url` (pulled in by node-fetch, which the Kubernetes client uses) with the runtime's own URL
 * classes. node-fetch prefers `require('url').URL`, which Node has, so the package is loaded and never used, but
 * loading it builds tr46's Unicode mapping table (~260 KiB of JSON) in every daemon's heap and prints a
 * `punycode` deprecation warning. See docs/build.md ("Memory").
 */
const whatwgUrlPlugin = {
  name: 'whatwg-url-native',
  setup(b) {
    b.onResolve({ filter: /^whatwg-url$/ }, () => ({ path: 'whatwg-url', namespace: 'native-url' }));
    b.onLoad({ filter: /.*/, namespace: 'native-url' }, () => ({
      contents: 'module.exports = { URL, URLSearchParams };',
      loader: 'js',
    }));
  },
};

const targets = [
  {
    name: 'aws-cni',
    entry: 'packages/cni-plugin/src/main.ts',
    out: 'dist/bin',
    links: ['egress-cni'],
    eager: true, // one-shot per pod: start from a fully compiled code cache (scripts/sea/eager-loader.cjs)
  },
  {
    name: 'aws-k8s-agent',
    entry: 'packages/ipamd/src/main.ts',
    out: 'dist/bin',
    // Long-running daemons: V8 flags for a small footprint, baked in (see execArgv below; docs/build.md "Memory").
    v8Flags: ['--max-semi-space-size=1'],
    links: [
      'aws-vpc-cni',
      'aws-vpc-cni-init',
      'aws-network-policy-agent',
      'aws-eks-na-cli',
      'aws-eks-na-cli-v6',
      'network-policy-controller',
    ],
  },
  { name: 'hello', entry: 'bench/src/hello.ts', out: 'dist/bench', links: [] },
];

async function buildOne(t) {
  const t0 = Date.now();
  const bundle = join(work, `${t.name}.cjs`);
  await build({
    entryPoints: [join(root, t.entry)],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // ES module builds before CommonJS ones (esbuild's default for platform node is main first). Only the AWS SDK
    // packages ship both; their ESM builds let the bundle keep just the SDK classes that are imported, and spare
    // the CommonJS interop that gave every importing module its own copy of @aws-sdk/client-ec2's ~10,000 exports
    // as getters (~14 MiB of ipamd's heap; docs/build.md "Memory").
    mainFields: ['module', 'main'],
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
    define: {
      __VPC_CNI_VERSION__: JSON.stringify(version),
      __KOFFI_NODE_SHA256__: JSON.stringify(koffiHash),
      'import.meta.url': '__import_meta_url',
    },
    banner: { js: 'var __import_meta_url=require("node:url").pathToFileURL(__filename).href;' },
    plugins: [koffiPlugin, whatwgUrlPlugin, awsSdkDirectImports],
  });
  const blob = join(work, `${t.name}.blob`);
  const seaConfig = join(work, `${t.name}.sea.json`);
  const assets = { 'koffi.node': koffiNode };
  let main = bundle;
  if (t.eager) {
    // The bundle becomes an asset wrapped as a CommonJS function; its cache is made under --no-lazy.
    const wrapped = join(work, `${t.name}.main.js`);
    const cache = join(work, `${t.name}.main.cache`);
    writeFileSync(
      wrapped,
      `(function (require, module, exports, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`,
    );
    execFileSync(runtime, ['--no-lazy', join(root, 'scripts/sea/make-code-cache.cjs'), wrapped, cache], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const versionOut = join(work, `${t.name}.version.out`);
    writeFileSync(
      versionOut,
      execFileSync(runtime, [bundle], { env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' }),
    );
    Object.assign(assets, { 'main.js': wrapped, 'main.cache': cache, 'version.out': versionOut });
    main = join(root, 'scripts/sea/eager-loader.cjs');
  }
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      assets,
      // Baked-in V8 flags (docs/build.md "Memory"). V8 accepts a code cache only under the flags it was made
      // with, so the blob (and its cache) is generated by the runtime started with the same flags.
      ...(t.v8Flags ? { execArgv: t.v8Flags } : {}),
    }),
  );
  execFileSync(runtime, [...(t.v8Flags ?? []), '--experimental-sea-config', seaConfig], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const outDir = join(root, t.out);
  mkdirSync(outDir, { recursive: true });
  const exe = join(outDir, t.name);
  rmSync(exe, { force: true });
  copyFileSync(runtime, exe);
  // The npm build of Node carries its symbol tables and debug info (~18 MiB of 127); the image ships each executable, so drop it.
  execFileSync('strip', ['--strip-all', exe]);
  // postject's ELF library prints harmless section-name warnings; show its output only when it fails.
  try {
    execFileSync(
      process.execPath,
      [
        postjectCli,
        exe,
        'NODE_SEA_BLOB',
        blob,
        '--sentinel-fuse',
        'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
      ],
      { stdio: 'pipe' },
    );
  } catch (e) {
    process.stderr.write(String(e.stderr ?? ''));
    throw e;
  }
  for (const l of t.links) {
    rmSync(join(outDir, l), { force: true });
    linkSync(exe, join(outDir, l));
  }
  const size = (p) => `${(statSync(p).size / 1024).toFixed(0)} KiB`;
  console.log(
    `build-sea: ${t.out}/${t.name} (bundle ${size(bundle)}, executable ${(statSync(exe).size / 1048576).toFixed(1)} MiB) in ${Date.now() - t0} ms${t.links.length ? `; links: ${t.links.join(', ')}` : ''}`,
  );
}

const only = process.argv.slice(2);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
for (const t of targets) if (only.length === 0 || only.includes(t.name)) await buildOne(t);
