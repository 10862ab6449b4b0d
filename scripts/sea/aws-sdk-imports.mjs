// esbuild plugin for the SEA bundles (scripts/build-sea.mjs): an import of an AWS SDK client package from the
// project's own source (`import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2'`) is bundled
// as imports of the files that define those names (`dist-es/commands/DescribeSubnetsCommand.js`, ...), not of
// the package's index.
//
// Why: every program of the multi-call bundle is loaded by a dynamic import() (packages/ipamd/src/programs.ts),
// so esbuild wraps its modules in lazy initializers, and initializing a package's index initializes everything
// the index re-exports: for @aws-sdk/client-ec2 the aggregated `EC2` client with all ~950 command classes and
// their schemas, ~4 MiB of ipamd's heap that no call uses (docs/build.md "Memory"). The names and the classes
// are the same; only what gets initialized changes.
//
// Only named imports and re-exports are rewritten; a file with a namespace or default import of the package
// gets the package itself. Names the package's ES module build does not export (types) are left out, as the
// TypeScript loader drops them anyway.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

const PACKAGE = /^@aws-sdk\/client-[a-z0-9-]+$/;
const NAMESPACE = 'aws-sdk-direct';

const isFile = (p) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

/** A specifier of the SDK's ES build → the file (`./commands`, `./EC2Client`), or itself when it names a package. */
function resolveSpecifier(from, spec) {
  if (!spec.startsWith('.')) return spec;
  const base = resolve(dirname(from), spec);
  for (const p of [base, `${base}.js`, `${base}/index.js`]) if (isFile(p)) return p;
  throw new Error(`aws-sdk-imports: cannot resolve ${spec} from ${from}`);
}

const parse = (file, kind) =>
  ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false, kind);

const exported = (node) =>
  ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/**
 * Every name an ES module exports → where it is defined: `{ file, local }`, following `export ... from`
 * chains to the defining file. Local and named exports win over `export *` ones, as in ES modules.
 */
function exportIndex(file, cache) {
  const hit = cache.get(file);
  if (hit) return hit;
  const index = new Map();
  cache.set(file, index); // cycles see a partial index instead of recursing forever
  try {
    fillIndex(file, index, cache);
  } catch (e) {
    cache.delete(file);
    throw e;
  }
  return index;
}

function fillIndex(file, index, cache) {
  const stars = [];
  for (const st of parse(file, ts.ScriptKind.JS).statements) {
    if (ts.isExportDeclaration(st)) {
      const from = st.moduleSpecifier ? resolveSpecifier(file, st.moduleSpecifier.text) : undefined;
      const inPackage = from !== undefined && from.startsWith('/');
      if (!st.exportClause) {
        // `export * from '<package>'` cannot be listed here; a name only it provides is then missing, and
        // esbuild fails the build on the import that needs it.
        if (inPackage) stars.push(from);
      } else if (ts.isNamespaceExport(st.exportClause)) {
        index.set(st.exportClause.name.text, { file: from, local: '*' });
      } else {
        for (const el of st.exportClause.elements) {
          const name = (el.propertyName ?? el.name).text;
          const def = !from
            ? { file, local: name }
            : inPackage
              ? (exportIndex(from, cache).get(name) ?? { file: from, local: name })
              : { file: from, local: name };
          index.set(el.name.text, def);
        }
      }
    } else if (exported(st)) {
      if (ts.isVariableStatement(st)) {
        for (const d of st.declarationList.declarations)
          if (ts.isIdentifier(d.name)) index.set(d.name.text, { file, local: d.name.text });
      } else if ((ts.isClassDeclaration(st) || ts.isFunctionDeclaration(st)) && st.name) {
        index.set(st.name.text, { file, local: st.name.text });
      }
    }
  }
  for (const from of stars)
    for (const [name, def] of exportIndex(from, cache))
      if (name !== 'default' && !index.has(name)) index.set(name, def);
}

/**
 * The value names `importer` imports or re-exports from `pkg`, or undefined when it imports the package in a
 * form this plugin does not rewrite (namespace, default, side-effect only).
 */
function namedImports(importer, pkg) {
  const names = [];
  const sf = parse(importer, importer.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && st.moduleSpecifier.text === pkg) {
      const c = st.importClause;
      if (!c) return undefined;
      if (c.isTypeOnly) continue;
      if (c.name || !c.namedBindings || !ts.isNamedImports(c.namedBindings)) return undefined;
      for (const el of c.namedBindings.elements)
        if (!el.isTypeOnly) names.push((el.propertyName ?? el.name).text);
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier?.text === pkg) {
      if (st.isTypeOnly) continue;
      if (!st.exportClause || !ts.isNamedExports(st.exportClause)) return undefined;
      for (const el of st.exportClause.elements)
        if (!el.isTypeOnly) names.push((el.propertyName ?? el.name).text);
    }
  }
  return names;
}

export const awsSdkDirectImports = {
  name: 'aws-sdk-direct-imports',
  setup(b) {
    const cache = new Map();
    b.onResolve({ filter: PACKAGE }, async (args) => {
      if (args.pluginData?.direct || !args.importer || args.importer.includes('/node_modules/'))
        return undefined;
      if (!namedImports(args.importer, args.path)) return undefined;
      // The package's own entry as esbuild resolves it (the ES module build, with mainFields module first).
      const entry = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: { direct: true },
      });
      if (entry.errors.length > 0) return { errors: entry.errors };
      return {
        path: `${args.path} for ${args.importer}`,
        namespace: NAMESPACE,
        pluginData: { pkg: args.path, importer: args.importer, entry: entry.path },
      };
    });
    b.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
      const { pkg, importer, entry } = args.pluginData;
      const index = exportIndex(entry, cache);
      if (index.size === 0)
        return {
          errors: [
            { text: `aws-sdk-imports: ${entry} (the entry of ${pkg}) exports nothing as an ES module` },
          ],
        };
      const lines = [];
      for (const name of new Set(namedImports(importer, pkg))) {
        const def = index.get(name);
        if (!def) continue; // a type: nothing to bundle
        lines.push(
          def.local === '*'
            ? `export * as ${name} from ${JSON.stringify(def.file)};`
            : `export { ${def.local} as ${name} } from ${JSON.stringify(def.file)};`,
        );
      }
      return { contents: lines.join('\n'), loader: 'js', resolveDir: dirname(entry) };
    });
  },
};
