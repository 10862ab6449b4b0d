// egress-cni (docs/architecture.md#egress-cni): chained after aws-cni in every 10-aws.conflist. When its
// `enabled` is not "true" (the default: no IPv6 egress for IPv4 pods, no IPv4 egress for IPv6 pods) it must
// be transparent: ADD prints the prevResult in the config's version, DEL/CHECK succeed. The enabled path (the
// v4/v6 egress veth with SNAT) is not built yet and says so clearly instead of half-configuring a pod.
import { CniCode, CniError } from './cni/errors.js';
import { formatResult, parseResult } from './cni/result.js';
import { requireVersion, versionInfo } from './cni/version.js';

export interface EgressIo {
  env: Readonly<Record<string, string | undefined>>;
  stdin: () => Promise<string>;
}

/** Returns what to print and the exit code. */
export async function runEgress(io: EgressIo): Promise<{ out: string; code: number }> {
  const cmd = io.env['CNI_COMMAND'] ?? '';
  if (cmd === 'VERSION') return { out: JSON.stringify(versionInfo()), code: 0 };
  let version = '1.1.0';
  try {
    const conf = JSON.parse(await io.stdin()) as Record<string, unknown>;
    if (typeof conf !== 'object' || conf === null)
      throw new CniError(CniCode.DecodeFailure, 'config is not a JSON object');
    const v = requireVersion(typeof conf['cniVersion'] === 'string' ? conf['cniVersion'] : '');
    version = v;
    const enabled = conf['enabled'] === 'true';
    if (cmd === 'ADD') {
      const prev = conf['prevResult'];
      if (typeof prev !== 'object' || prev === null)
        throw new CniError(
          CniCode.InvalidNetworkConfig,
          'must be called as a chained plugin',
          'list egress-cni after aws-cni in the conflist',
        );
      if (!enabled) return { out: formatResult(parseResult(prev as Record<string, unknown>, v), v), code: 0 };
    } else if (cmd === 'DEL' || cmd === 'CHECK' || cmd === 'STATUS' || cmd === 'GC') {
      if (!enabled || cmd !== 'DEL') return { out: '', code: 0 };
    } else {
      throw new CniError(
        CniCode.InvalidEnv,
        `unknown CNI_COMMAND "${cmd}"`,
        'the runtime must set CNI_COMMAND',
      );
    }
    throw new CniError(
      CniCode.Internal,
      'egress-cni: IPv4/IPv6 egress is not implemented in this build',
      'set ENABLE_V6_EGRESS=false (IPv4 clusters) or ENABLE_V4_EGRESS=false (IPv6 clusters) so the conflist disables it',
    );
  } catch (e) {
    const err =
      e instanceof CniError
        ? e
        : new CniError(
            CniCode.DecodeFailure,
            `egress-cni: could not read the config: ${e instanceof Error ? e.message : String(e)}`,
          );
    return { out: JSON.stringify(err.toJSON(version)), code: 1 };
  }
}
