// Guard: every variable of the README configuration table is read by some code outside the table itself, so a
// documented variable cannot silently do nothing. (Whether it does what the table says is shown by the tests
// listed in the README next to each variable.)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { variables } from './variables.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const TABLE = /^packages\/shared\/src\/config\/variables[^/]*\.ts$/;

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !TABLE.test(relative(ROOT, p)))
      out.push(p);
  }
  return out;
}

it('every variable in the table is read by code outside the table', () => {
  const text = readdirSync(join(ROOT, 'packages'))
    .map((pkg) => join(ROOT, 'packages', pkg, 'src'))
    .filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory())
    .flatMap((d) => sources(d))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const unread = Object.keys(variables).filter((name) => !new RegExp(`\\b${name}\\b`).test(text));
  expect(unread).toEqual([]);
});
