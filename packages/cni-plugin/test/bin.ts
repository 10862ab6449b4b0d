// Test/dev entry for running the plugin from source (the SEA binary's main.ts does the same).
import { main } from '../src/cli.js';

process.exitCode = await main();
