// Rewrites the environment-variable table in README.md from the config definitions.
import { readFileSync, writeFileSync } from 'node:fs';
import { DOCS_BEGIN, DOCS_END, renderConfigTable } from '../packages/shared/src/config/index.js';

const path = new URL('../README.md', import.meta.url);
const text = readFileSync(path, 'utf8');
const start = text.indexOf(DOCS_BEGIN);
const end = text.indexOf(DOCS_END);
if (start < 0 || end < 0) throw new Error('README.md has no config-table markers');
writeFileSync(path, text.slice(0, start) + renderConfigTable() + text.slice(end + DOCS_END.length));
