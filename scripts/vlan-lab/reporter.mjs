// node:test reporter for the VLAN lab: one JSON line per test (not per suite), which the host turns into vitest
// tests (scripts/vlan-lab/index.ts). Names of nested tests carry their parents' names, joined by " > ".
export default async function* vlanLabReporter(source) {
  const stack = [];
  for await (const ev of source) {
    const d = ev.data;
    if (ev.type === 'test:start') {
      stack[d.nesting] = d.name;
      stack.length = d.nesting + 1;
      continue;
    }
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    if (d.details?.type === 'suite') continue;
    const name = [...stack.slice(0, d.nesting), d.name].join(' > ');
    let status = ev.type === 'test:pass' ? 'pass' : 'fail';
    if (d.skip) status = 'skip';
    if (d.todo) status = 'todo';
    const err = d.details?.error;
    const cause = err?.cause ?? err;
    yield (
      JSON.stringify({
        name,
        file: d.file,
        status,
        durationMs: d.details?.duration_ms ?? 0,
        ...(status === 'fail' ? { error: String(cause?.stack ?? cause?.message ?? cause) } : {}),
      }) + '\n'
    );
  }
}
