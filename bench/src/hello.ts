// The bare single-executable floor for start-up benchmarks: built exactly like aws-cni, prints one line.
import { writeSync } from 'node:fs';

writeSync(1, '{"cniVersion":"1.1.0","supportedVersions":["1.1.0"]}\n');
