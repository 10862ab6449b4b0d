// ipamd's own writes to the API outside security groups for pods (see the package README):
// - ANNOTATE_POD_IP: the pod's `vpc.amazonaws.com/pod-ips` annotation holds the address ipamd gave it, and is
//   removed on DelNetwork when it still names the released address (as upstream).
// - MY_POD_NAME: a Warning event `MissingIAMPermissions` on the aws-node pod (kube-system/<MY_POD_NAME>) the
//   first time EC2 answers UnauthorizedOperation for an API, naming the action to allow.
import type { Logger } from '@vpc-cni/shared/logging';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeApis } from './client.js';

export const POD_IPS_ANNOTATION = 'vpc.amazonaws.com/pod-ips';

export class PodIpAnnotator {
  constructor(
    private readonly apis: KubeApis,
    private readonly logger: Logger,
  ) {}

  private async patch(namespace: string, name: string, value: string | null): Promise<void> {
    await this.apis.core.patchNamespacedPod(
      { namespace, name, body: { metadata: { annotations: { [POD_IPS_ANNOTATION]: value } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** After a successful AddNetwork; a failure is logged, the pod keeps its address. */
  async added(namespace: string, name: string, address: string): Promise<void> {
    if (!name || !address) return;
    await this.patch(namespace, name, address).catch((err: unknown) =>
      this.logger.warn({ err, pod: `${namespace}/${name}` }, 'could not annotate the pod with its IP'),
    );
  }

  /** After a DelNetwork that released `address`: the annotation goes only if it still names that address. */
  async released(namespace: string, name: string, address: string): Promise<void> {
    if (!name || !address) return;
    try {
      const pod = await this.apis.core.readNamespacedPod({ namespace, name });
      if (pod.metadata?.annotations?.[POD_IPS_ANNOTATION] !== address) return;
      await this.patch(namespace, name, null);
    } catch (err) {
      // A deleted pod has nothing left to clean.
      this.logger.debug({ err, pod: `${namespace}/${name}` }, 'pod IP annotation not removed');
    }
  }
}

export const AWS_NODE_NAMESPACE = 'kube-system';

/** Warning events on the aws-node pod, one per EC2 action that was refused. */
export class AwsNodeEvents {
  private readonly reported = new Set<string>();

  constructor(
    private readonly apis: KubeApis,
    private readonly podName: string,
    private readonly logger: Logger,
  ) {}

  async missingPermission(api: string): Promise<void> {
    if (this.reported.has(api)) return;
    this.reported.add(api);
    const now = new Date();
    await this.apis.core
      .createNamespacedEvent({
        namespace: AWS_NODE_NAMESPACE,
        body: {
          metadata: { generateName: `${this.podName}.` },
          involvedObject: {
            kind: 'Pod',
            name: this.podName,
            namespace: AWS_NODE_NAMESPACE,
            apiVersion: 'v1',
          },
          type: 'Warning',
          reason: 'MissingIAMPermissions',
          action: `ec2:${api}`,
          message: `EC2 refused ec2:${api} (UnauthorizedOperation): the role aws-node runs with lacks this permission; give it the VPC CNI IAM policy`,
          source: { component: 'aws-node' },
          reportingComponent: 'aws-node',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((err: unknown) => {
        this.reported.delete(api);
        this.logger.warn({ err, api }, 'could not record the MissingIAMPermissions event');
      });
  }
}
