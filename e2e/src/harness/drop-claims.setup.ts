// A setup file of the kernel and e2e projects (vitest.config.ts): after each test file, the registry file of this
// worker's claims is removed if everything claimed in it is gone (owner.ts). The worker is ended by a signal, so its
// 'exit' handler does not run.
import { afterAll } from 'vitest';
import { dropOwnReleased } from './owner.js';

afterAll(dropOwnReleased);
