// PolicyEndpoint (networking.k8s.aws/v1alpha1) as the agent reads it: parsed and checked with zod, so a
// malformed object is refused whole with a message naming the field instead of being half-applied.
import { z } from 'zod';

export const PE_GROUP = 'networking.k8s.aws';
export const PE_VERSION = 'v1alpha1';
export const PE_PLURAL = 'policyendpoints';

const port = z.object({
  protocol: z.string().optional(),
  port: z.number().int().optional(),
  endPort: z.number().int().optional(),
});

const endpointInfo = z.object({
  cidr: z.string().optional(),
  except: z.array(z.string()).nullish(),
  ports: z.array(port).nullish(),
  domainName: z.string().optional(),
});

const podEndpoint = z.object({
  hostIP: z.string(),
  podIP: z.string(),
  name: z.string().min(1),
  namespace: z.string().min(1),
});

const schema = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().min(1),
    annotations: z.record(z.string()).nullish(),
  }),
  spec: z.object({
    policyRef: z.object({ name: z.string().min(1), namespace: z.string().min(1) }),
    podIsolation: z.array(z.enum(['Ingress', 'Egress'])).nullish(),
    podSelectorEndpoints: z.array(podEndpoint).nullish(),
    ingress: z.array(endpointInfo).nullish(),
    egress: z.array(endpointInfo).nullish(),
  }),
});

export type EndpointInfo = z.infer<typeof endpointInfo>;
export type PodEndpoint = z.infer<typeof podEndpoint>;

export interface PolicyEndpoint {
  name: string;
  namespace: string;
  /** `namespace/policyRef.name`. */
  policy: string;
  podIsolation: readonly ('Ingress' | 'Egress')[];
  pods: readonly PodEndpoint[];
  ingress: readonly EndpointInfo[];
  egress: readonly EndpointInfo[];
  /** `networking.k8s.aws/last-change-trigger-time`, for the programming-latency metric. */
  changeTime?: string;
}

export const CHANGE_TIME_ANNOTATION = 'networking.k8s.aws/last-change-trigger-time';

/** The object as the API returns it → a PolicyEndpoint, or the reason it is refused. */
export function parsePolicyEndpoint(obj: unknown): PolicyEndpoint | { error: string } {
  const r = schema.safeParse(obj);
  if (!r.success) {
    const i = r.error.issues[0];
    return { error: `${i?.path.join('.') || '(object)'}: ${i?.message ?? 'invalid'}` };
  }
  const { metadata: m, spec: s } = r.data;
  const changeTime = m.annotations?.[CHANGE_TIME_ANNOTATION];
  return {
    name: m.name,
    namespace: m.namespace,
    policy: `${m.namespace}/${s.policyRef.name}`,
    podIsolation: s.podIsolation ?? [],
    pods: s.podSelectorEndpoints ?? [],
    ingress: s.ingress ?? [],
    egress: s.egress ?? [],
    ...(changeTime ? { changeTime } : {}),
  };
}
