// Returns free malloc memory to the kernel, for the long-running programs (programs.ts). Start-up (parsing and
// compiling the bundle, loading the code cache) leaves glibc's heap with ~25-50 MiB that is free but not given
// back, because it lies below chunks still in use; glibc only returns the top of its heap by itself.
// malloc_trim(0) also releases free pages in the middle of the heap. Measured in docs/build.md ("Memory").
// Best effort: a libc without malloc_trim (not glibc) or a failure to load the FFI leaves memory as it is.
import koffi from 'koffi';

/** Trims `delaysMs` after start, then every `everyMs`; the timers never keep the process alive. */
export function startMallocTrim(delaysMs = [3_000, 15_000], everyMs = 60_000): void {
  let trim: () => void;
  try {
    const fn = koffi.load('libc.so.6').func('int malloc_trim(size_t)') as (pad: number) => number;
    trim = () => void fn(0);
  } catch {
    return;
  }
  for (const d of delaysMs) setTimeout(trim, d).unref();
  setInterval(trim, everyMs).unref();
}
