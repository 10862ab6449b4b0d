// Flow events: the pinned ring buffer read by ring_buffer__poll in a worker thread (a blocking poll on the main
// thread would stall the event loop), copied inside libbpf's callback (the data is valid only there) and posted
// to the main thread in batches, where they are decoded (layout.ts) and handed to the caller.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import koffi from 'koffi';
import type { Family, FlowEvent } from './contract.js';
import { decodeFlowEvent } from './layout.js';

// Runs in the worker (plain CommonJS, no bundle): loads koffi the way the main thread did.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let koffi;
if (workerData.addon) { const m = { exports: {} }; process.dlopen(m, workerData.addon); koffi = m.exports; }
else koffi = require(workerData.module);
const lib = koffi.load('libbpf.so.1');
const proto = koffi.proto('int npa_rb_sample(void *ctx, void *data, size_t size)');
const rbNew = lib.func('void *ring_buffer__new(int fd, npa_rb_sample *cb, void *ctx, void *opts)');
const rbPoll = lib.func('int ring_buffer__poll(void *rb, int timeout_ms)');
const rbFree = lib.func('void ring_buffer__free(void *rb)');
const stop = new Int32Array(workerData.stop);
let batch = [];
const cb = koffi.register((_ctx, data, size) => {
  batch.push(Buffer.from(new Uint8Array(koffi.view(data, Number(size)))));
  return 0;
}, koffi.pointer(proto));
const rb = rbNew(workerData.fd, cb, null, null);
if (!rb) { parentPort.postMessage({ error: 'ring_buffer__new failed: errno ' + koffi.errno() }); }
else {
  parentPort.postMessage({ ready: true });
  while (Atomics.load(stop, 0) === 0) {
    const rc = rbPoll(rb, 100);
    if (rc < 0 && rc !== -4) { parentPort.postMessage({ error: 'ring_buffer__poll: ' + rc }); break; }
    if (batch.length) { parentPort.postMessage({ events: batch }); batch = []; }
  }
  rbFree(rb);
}
koffi.unregister(cb);
`;

/** How the worker loads koffi: the package's module file, or (inside the single executable) the addon file. */
export function koffiSource(): { addon?: string; module?: string } {
  const addon = (koffi as unknown as { __addonPath?: unknown }).__addonPath;
  if (typeof addon === 'string') return { addon };
  return { module: createRequire(import.meta.url).resolve('koffi') };
}

export interface EventReader {
  stop(): Promise<void>;
}

/**
 * Starts the worker on a ring buffer map fd (the fd must stay open until stop() resolves). Resolves once the
 * worker polls; rejects when it cannot start.
 */
export async function startEventReader(
  fd: number,
  family: Family,
  onEvent: (e: FlowEvent) => void,
  onError: (err: Error) => void,
): Promise<EventReader> {
  const stopFlag = new SharedArrayBuffer(4);
  const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd, stop: stopFlag, ...koffiSource() } });
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    w.once('error', reject);
    w.on('message', (m: { ready?: boolean; error?: string; events?: Uint8Array[] }) => {
      if (m.ready) resolve();
      if (m.error) {
        const err = new Error(`flow event reader: ${m.error}`);
        reject(err);
        onError(err);
      }
      for (const raw of m.events ?? []) {
        try {
          onEvent(decodeFlowEvent(Buffer.from(raw), family));
        } catch (e) {
          onError(e as Error);
        }
      }
    });
  });
  return {
    async stop() {
      Atomics.store(new Int32Array(stopFlag), 0, 1);
      await exited;
    },
  };
}
