// Kubernetes access for the agent: --kubeconfig, else KUBECONFIG, else the in-cluster service account.
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

export interface AgentKube {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

export function agentKube(
  kubeconfigFlag: string,
  env: Readonly<Record<string, string | undefined>>,
): AgentKube {
  const kc = new KubeConfig();
  const file = kubeconfigFlag || env['KUBECONFIG'];
  if (file) kc.loadFromFile(file);
  else kc.loadFromCluster();
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}
