// PolicyEndpoint (networking.k8s.aws/v1alpha1) as the agent reads it: parsed and checked with zod, so a
// malformed object is refused whole with a message naming the field instead of being half-applied.
import {
  CHANGE_TIME_ANNOTATION,
  type EndpointInfo,
  type LabelSelector,
  type PodEndpoint,
  policyEndpointSchema as schema,
} from '@vpc-cni/shared/k8s';
import { z } from 'zod';

export { PE_GROUP, PE_VERSION, PE_PLURAL, CHANGE_TIME_ANNOTATION } from '@vpc-cni/shared/k8s';
export type { EndpointInfo, PodEndpoint } from '@vpc-cni/shared/k8s';

export interface PolicyEndpoint {
  name: string;
  namespace: string;
  /** `namespace/policyRef.name`. */
  policy: string;
  podIsolation: readonly ('Ingress' | 'Egress')[];
  /** The policy's `spec.podSelector` (which pods of the namespace it selects), when the controller wrote it. */
  podSelector?: LabelSelector;
  pods: readonly PodEndpoint[];
  ingress: readonly EndpointInfo[];
  egress: readonly EndpointInfo[];
  /** `networking.k8s.aws/last-change-trigger-time`, for the programming-latency metric. */
  changeTime?: string;
}

const selectorSchema = z
  .object({
    matchLabels: z.record(z.string()).nullish(),
    matchExpressions: z
      .array(z.object({ key: z.string(), operator: z.string(), values: z.array(z.string()).nullish() }))
      .nullish(),
  })
  .nullish();

/** The object as the API returns it → a PolicyEndpoint, or the reason it is refused. */
export function parsePolicyEndpoint(obj: unknown): PolicyEndpoint | { error: string } {
  const r = schema.safeParse(obj);
  if (!r.success) {
    const i = r.error.issues[0];
    return { error: `${i?.path.join('.') || '(object)'}: ${i?.message ?? 'invalid'}` };
  }
  const { metadata: m, spec: s } = r.data;
  // podSelector only serves strict mode's held directions (README "Strict mode"): an unreadable one is ignored
  // (as if absent: nothing is held for that policy), it does not refuse the rules.
  const sel = selectorSchema.safeParse((obj as { spec?: { podSelector?: unknown } }).spec?.podSelector);
  const changeTime = m.annotations?.[CHANGE_TIME_ANNOTATION];
  return {
    name: m.name,
    namespace: m.namespace,
    policy: `${m.namespace}/${s.policyRef.name}`,
    podIsolation: s.podIsolation ?? [],
    ...(sel.success && sel.data ? { podSelector: selector(sel.data) } : {}),
    pods: s.podSelectorEndpoints ?? [],
    ingress: s.ingress ?? [],
    egress: s.egress ?? [],
    ...(changeTime ? { changeTime } : {}),
  };
}

const selector = (s: {
  matchLabels?: Record<string, string> | null | undefined;
  matchExpressions?:
    { key: string; operator: string; values?: string[] | null | undefined }[] | null | undefined;
}): LabelSelector => ({
  ...(s.matchLabels ? { matchLabels: s.matchLabels } : {}),
  ...(s.matchExpressions
    ? {
        matchExpressions: s.matchExpressions.map((e) => ({
          key: e.key,
          operator: e.operator,
          ...(e.values ? { values: e.values } : {}),
        })),
      }
    : {}),
});
