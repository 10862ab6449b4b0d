// vitest globalSetup of the e2e project: before any e2e file runs, what an earlier run that was killed left behind
// is removed (sweep.ts: only resources of owners that no longer run; a run beside this one keeps its own).
import { sweepDeadOwners } from './sweep.js';

export default function setup(): void {
  const t0 = performance.now();
  const r = sweepDeadOwners();
  const found = r.processes.length + r.netns.length + r.dirs.length + r.mounts.length + r.cgroups.length;
  if (found > 0)
    console.log(
      `e2e sweep: removed what ${r.owners.length} dead owner(s) left: ${r.processes.length} processes, ` +
        `${r.netns.length} netns, ${r.mounts.length} mounts, ${r.dirs.length} dirs, ${r.cgroups.length} cgroups ` +
        `(${Math.round(performance.now() - t0)} ms)`,
    );
}
