// What ipamd needs from the Kubernetes API outside security groups for pods, created only when a setting asks
// for it: this node's ENIConfig (custom networking, and /v1/eni-configs), the pod-ips annotation
// (ANNOTATE_POD_IP) and events on the aws-node pod (MY_POD_NAME).
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { Logger } from '@vpc-cni/shared/logging';
import { StartupError } from '@vpc-cni/shared/startup';
import type { EniConfigSource } from '../eni/index.js';
import type * as K8s from '../k8s/index.js';
import type { AwsNodeEvents, KubeApis, K8sEniConfigSource, PodIpAnnotator } from '../k8s/index.js';

export interface KubeSide {
  /** Custom networking: where the pool's ENIConfig comes from. */
  eniConfigSource(): Promise<EniConfigSource | undefined>;
  /** This node's ENIConfig name for /v1/eni-configs; undefined when the Node cannot be read. */
  eniConfigName(): Promise<string | undefined>;
  readonly podIps: PodIpAnnotator | undefined;
  readonly events: AwsNodeEvents | undefined;
  stop(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

const hasApi = (env: Env) => Boolean(env['KUBECONFIG'] || env['KUBERNETES_SERVICE_HOST']);

export function kubeSide(cfg: IpamdConfig, env: Env, logger: Logger, override?: EniConfigSource): KubeSide {
  const customNetworking = cfg.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG && !cfg.ENABLE_IPv6;
  let k8s: typeof K8s | undefined;
  let apis: KubeApis | undefined;
  const load = async () => {
    k8s ??= await import('../k8s/index.js');
    apis ??= k8s.kubeApis(env, cfg.CLUSTER_ENDPOINT || undefined);
    return { k8s, apis };
  };
  let nodeSource: K8sEniConfigSource | undefined;
  const nodeEniConfig = async (): Promise<K8sEniConfigSource> => {
    if (nodeSource) return nodeSource;
    const l = await load();
    nodeSource = new l.k8s.K8sEniConfigSource(l.apis, {
      nodeName: cfg.MY_NODE_NAME,
      annotationDef: cfg.ENI_CONFIG_ANNOTATION_DEF,
      labelDef: cfg.ENI_CONFIG_LABEL_DEF,
      logger,
    });
    return nodeSource;
  };
  const side: {
    podIps: PodIpAnnotator | undefined;
    events: AwsNodeEvents | undefined;
  } = { podIps: undefined, events: undefined };
  const needs = async (what: string): Promise<Awaited<ReturnType<typeof load>>> => {
    if (!hasApi(env))
      throw new StartupError(
        `${what} needs the Kubernetes API, and neither KUBERNETES_SERVICE_HOST (in-cluster) nor KUBECONFIG is set`,
        `run ipamd in the aws-node pod (service account token mounted) or set KUBECONFIG, or turn ${what} off`,
      );
    return load();
  };
  let ready: Promise<void> | undefined;
  const init = () =>
    (ready ??= (async () => {
      if (cfg.ANNOTATE_POD_IP) {
        const l = await needs('ANNOTATE_POD_IP');
        side.podIps = new l.k8s.PodIpAnnotator(l.apis, logger);
      }
      if (cfg.MY_POD_NAME && hasApi(env)) {
        const l = await load();
        side.events = new l.k8s.AwsNodeEvents(l.apis, cfg.MY_POD_NAME, logger);
      }
    })());
  return {
    async eniConfigSource() {
      await init();
      if (!customNetworking) return undefined;
      if (override) return override;
      if (!cfg.MY_NODE_NAME)
        throw new StartupError(
          'custom networking (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true) needs MY_NODE_NAME',
          'set MY_NODE_NAME from the downward API (spec.nodeName), as the aws-node manifest does',
        );
      await needs('custom networking');
      return nodeEniConfig();
    },
    async eniConfigName() {
      try {
        if (override) return (await override.current()).name;
        if (!cfg.MY_NODE_NAME || !hasApi(env)) return undefined;
        return await (await nodeEniConfig()).nodeConfigName();
      } catch (err) {
        logger.debug({ err }, '/v1/eni-configs: the Node could not be read');
        return undefined;
      }
    },
    get podIps() {
      return side.podIps;
    },
    get events() {
      return side.events;
    },
    async stop() {},
  };
}
