// Stage timestamps of a PolicyEndpoint change on its way through the agent (watch event received, pod updates
// started, a pod's maps compiled, a pod's maps and state written). `pnpm bench netpol` subscribes to break its
// enforce latency down per stage (bench/README.md). Published on a diagnostics channel: with no subscriber
// (the agent in production) nothing is built, kept or sent.
import { channel } from 'node:diagnostics_channel';

export const ENFORCE_TRACE_CHANNEL = 'vpc-cni:network-policy-agent:enforce';

export type EnforceStage =
  /** A PolicyEndpoint add/update/delete arrived from the watch (`pe` = namespace/name). */
  | 'pe-received'
  /** The reconciler starts applying its pending pod updates (`pods` = how many). */
  | 'flush-start'
  /** One pod's map contents were derived and compiled (`pod` = namespace/name). */
  | 'pod-compiled'
  /** One pod's maps and state were written to the kernel (`changed` = false when identical to the last write). */
  | 'pod-written';

export interface EnforceTrace {
  stage: EnforceStage;
  /** Wall clock in ms with sub-ms precision (performance.timeOrigin + performance.now()). */
  t: number;
  pe?: string;
  pod?: string;
  pods?: number;
  changed?: boolean;
}

const ch = channel(ENFORCE_TRACE_CHANNEL);

export function traceEnforce(stage: EnforceStage, detail: Omit<EnforceTrace, 'stage' | 't'> = {}): void {
  if (!ch.hasSubscribers) return;
  ch.publish({ stage, t: performance.timeOrigin + performance.now(), ...detail } satisfies EnforceTrace);
}
