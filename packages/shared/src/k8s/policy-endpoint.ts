// The PolicyEndpoint resource (networking.k8s.aws/v1alpha1) on the wire: one definition shared by the controller
// that writes it (packages/network-policy-controller) and the agent that reads it (packages/network-policy-agent).
// The field meanings are described in packages/network-policy-controller/README.md.
import { z } from 'zod';

export const PE_GROUP = 'networking.k8s.aws';
export const PE_VERSION = 'v1alpha1';
export const PE_PLURAL = 'policyendpoints';
export const PE_KIND = 'PolicyEndpoint';
/** Annotation with the time of the change that caused the last write (RFC 3339, nanoseconds). */
export const CHANGE_TIME_ANNOTATION = 'networking.k8s.aws/last-change-trigger-time';

export const pePortSchema = z.object({
  protocol: z.string().optional(),
  port: z.number().int().optional(),
  endPort: z.number().int().optional(),
});

export const endpointInfoSchema = z.object({
  cidr: z.string().optional(),
  except: z.array(z.string()).nullish(),
  ports: z.array(pePortSchema).nullish(),
  domainName: z.string().optional(),
});

export const podEndpointSchema = z.object({
  hostIP: z.string(),
  podIP: z.string(),
  name: z.string().min(1),
  namespace: z.string().min(1),
});

export const policyEndpointSchema = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().min(1),
    annotations: z.record(z.string()).nullish(),
  }),
  spec: z.object({
    policyRef: z.object({ name: z.string().min(1), namespace: z.string().min(1) }),
    podIsolation: z.array(z.enum(['Ingress', 'Egress'])).nullish(),
    podSelectorEndpoints: z.array(podEndpointSchema).nullish(),
    ingress: z.array(endpointInfoSchema).nullish(),
    egress: z.array(endpointInfoSchema).nullish(),
  }),
});

/** One `ports[]` item: protocol (default TCP), port (absent = all), endPort (inclusive range end). */
export type PePort = z.infer<typeof pePortSchema>;
/** One resolved peer: `cidr` (a bare IP = host prefix), `except[]`, `ports[]` (absent/empty = all). */
export type EndpointInfo = z.infer<typeof endpointInfoSchema>;
/** One pod a policy applies to. */
export type PodEndpoint = z.infer<typeof podEndpointSchema>;
export type PolicyIsolation = 'Ingress' | 'Egress';

/** A Kubernetes label selector (matchLabels and matchExpressions). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** `spec` of a PolicyEndpoint as the controller writes it. */
export interface PolicyEndpointSpec {
  policyRef: { name: string; namespace: string };
  podSelector?: LabelSelector;
  podIsolation: PolicyIsolation[];
  podSelectorEndpoints: PodEndpoint[];
  ingress: EndpointInfo[];
  egress: EndpointInfo[];
}
