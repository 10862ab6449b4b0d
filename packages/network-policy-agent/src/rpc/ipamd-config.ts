// The agent's start-up question to ipamd: GetNetworkPolicyConfigs over ipamd's unix socket, retried for up to
// 30 s (ipamd may still be starting beside us). The mode decides what new and released pods default to.
import { ConfigServerBackend, type NetworkPolicyAgentConfigReply, RpcClient } from '@vpc-cni/shared/rpc';
import type { Logger } from '@vpc-cni/shared/logging';

export type ModeAnswer =
  { kind: 'enforce'; mode: 'standard' | 'strict'; multiNic: boolean } | { kind: 'disabled'; reason: string };

/** ipamd's NETWORK_POLICY_ENFORCING_MODE → what the agent does. `none` is "disabled" here (not an error). */
export function interpretMode(
  reply: NetworkPolicyAgentConfigReply,
): ModeAnswer | { kind: 'invalid'; value: string } {
  const v = reply.NetworkPolicyMode.trim().toLowerCase();
  if (v === 'standard' || v === 'strict')
    return { kind: 'enforce', mode: v, multiNic: reply.MultiNICEnabled };
  if (v === 'none') return { kind: 'disabled', reason: 'ipamd reports NETWORK_POLICY_ENFORCING_MODE=none' };
  return { kind: 'invalid', value: reply.NetworkPolicyMode };
}

export async function fetchNetworkPolicyConfig(
  socket: string,
  logger: Logger,
  budgetMs = 30_000,
): Promise<NetworkPolicyAgentConfigReply> {
  const client = new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 5_000 });
  const until = Date.now() + budgetMs;
  let delay = 250;
  try {
    for (;;) {
      try {
        return await client.call(ConfigServerBackend.GetNetworkPolicyConfigs, {});
      } catch (err) {
        if (Date.now() + delay > until)
          throw new Error(`ipamd at ${socket} did not answer GetNetworkPolicyConfigs within ${budgetMs} ms`, {
            cause: err,
          });
        logger.warn({ err, socket }, 'ipamd not answering GetNetworkPolicyConfigs yet; retrying');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2_000);
      }
    }
  } finally {
    client.close();
  }
}
