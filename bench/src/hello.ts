// The bare single-executable floor for start-up benchmarks: built exactly like aws-cni, prints one line
// (with BENCH_PRINT_VERSION set: the embedded runtime's version, so a benchmark can say what it measured).
import { writeSync } from 'node:fs';

writeSync(
  1,
  process.env.BENCH_PRINT_VERSION
    ? `${process.version}\n`
    : '{"cniVersion":"1.1.0","supportedVersions":["1.1.0"]}\n',
);
