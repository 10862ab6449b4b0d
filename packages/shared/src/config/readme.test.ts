import { expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { renderConfigTable } from './index.js';

it('the README variables table is generated from the current definitions (run `pnpm config-docs`)', () => {
  const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
  expect(readme).toContain(renderConfigTable());
});
