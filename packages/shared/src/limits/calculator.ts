// EKS's max-pods calculator (upstream's misc/max-pods-calculator.sh), offline over the bundled limits table; the
// `max-pods-calculator` program (packages/ipamd) is its command line. Pure. Rules (packages/shared/README.md):
//  - ENIs for pods: the instance's, capped by --cni-max-eni; one fewer with custom networking.
//  - prefix delegation counts only on a nitro instance with a CNI version >= 1.9:
//    enis * (ipv4PerEni - 1) * 16 + 2; otherwise enis * (ipv4PerEni - 1) + 2.
//  - recommended value: at most 110 up to 30 vCPUs, at most 250 above (`--show-max-allowed`: uncapped).
import { cpuClass } from './cpu-class.js';
import type { InstanceLimits } from './instance-limits.js';
import { HOST_NETWORK_PODS, IPV4_PER_PREFIX } from './max-pods.js';

export const CEILING_UP_TO_30_VCPUS = 110;
export const CEILING_OVER_30_VCPUS = 250;

export interface CalculatorInput {
  readonly instanceType: string;
  readonly cniVersion: string;
  readonly customNetworking: boolean;
  readonly prefixDelegation: boolean;
  /** --cni-max-eni; undefined = every ENI of the instance. */
  readonly maxEni?: number;
  readonly showMaxAllowed: boolean;
}

export class CalculatorError extends Error {}

/** `1.9.0`, `v1.12.6`, `v1.12.6-eksbuild.2` → [major, minor]. */
export function parseCniVersion(text: string): [number, number] {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(text.trim());
  if (!m) throw new CalculatorError(`invalid --cni-version "${text}": expected a version such as 1.7.5`);
  return [Number(m[1]), Number(m[2])];
}

export function prefixDelegationSupported(cniVersion: string): boolean {
  const [major, minor] = parseCniVersion(cniVersion);
  return major > 1 || (major === 1 && minor > 8);
}

/** Max pods before the vCPU ceiling (what `--show-max-allowed` prints). */
export function maxAllowedPods(
  limits: InstanceLimits,
  input: Omit<CalculatorInput, 'showMaxAllowed'>,
): number {
  const [major, minor] = parseCniVersion(input.cniVersion);
  let enis = limits.enis;
  if (input.maxEni !== undefined) enis = Math.min(enis, input.maxEni);
  if (input.customNetworking) enis -= 1;
  const slots = enis * (limits.ipv4PerEni - 1);
  const pd =
    limits.hypervisor === 'nitro' && input.prefixDelegation && (major > 1 || (major === 1 && minor > 8));
  return (pd ? slots * IPV4_PER_PREFIX : slots) + HOST_NETWORK_PODS;
}

export function calculateMaxPods(limits: InstanceLimits, input: CalculatorInput): number {
  const max = maxAllowedPods(limits, input);
  if (input.showMaxAllowed) return max;
  const cls = cpuClass(input.instanceType);
  switch (cls) {
    case 'up-to-30':
      return Math.min(max, CEILING_UP_TO_30_VCPUS);
    case 'over-30':
      return Math.min(max, CEILING_OVER_30_VCPUS);
    case 'unknown':
      throw new CalculatorError(
        `the vCPU count of ${input.instanceType} is not known offline, so the recommended value (110 up to 30 ` +
          `vCPUs, 250 above) cannot be chosen; pass --show-max-allowed for the uncapped value (${max})`,
      );
  }
}
