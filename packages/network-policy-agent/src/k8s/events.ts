// Warning events on PolicyEndpoints (what the agent could not enforce as written), as core/v1 Events in the PE's
// namespace, source component aws-network-policy-agent on this node. Failures to write one are only logged.
import type { Logger } from '@vpc-cni/shared/logging';
import type { AgentKube } from './client.js';
import { PE_GROUP, PE_VERSION } from './policy-endpoint.js';

export interface EventRecorder {
  warn(namespace: string, peName: string, reason: string, message: string): void;
}

export function kubeEventRecorder(kube: AgentKube, nodeName: string, logger: Logger): EventRecorder {
  let seq = 0;
  return {
    warn(namespace, peName, reason, message) {
      const now = new Date();
      const name = `${peName}.${now.getTime().toString(16)}${(seq++).toString(16)}`;
      kube.core
        .createNamespacedEvent({
          namespace,
          body: {
            metadata: { name, namespace },
            involvedObject: {
              apiVersion: `${PE_GROUP}/${PE_VERSION}`,
              kind: 'PolicyEndpoint',
              name: peName,
              namespace,
            },
            reason,
            message,
            type: 'Warning',
            source: { component: 'aws-network-policy-agent', ...(nodeName ? { host: nodeName } : {}) },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
            reportingComponent: 'aws-network-policy-agent',
            reportingInstance: nodeName,
          },
        })
        .catch((err: unknown) =>
          logger.warn({ err, namespace, peName, reason }, 'could not record a Warning event'),
        );
    },
  };
}
