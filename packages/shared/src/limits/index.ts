export {
  instanceLimits,
  knownInstanceTypes,
  type InstanceLimits,
  type NetworkCard,
} from './instance-limits.js';
export { maxPodsFor, HOST_NETWORK_PODS, IPV4_PER_PREFIX, type MaxPodsOptions } from './max-pods.js';
import { instanceLimits } from './instance-limits.js';
import { maxPodsFor, type MaxPodsOptions } from './max-pods.js';

/** Max pods for a known instance type; throws for a type not in the table (callers fall back to EC2 data). */
export function maxPods(instanceType: string, opts: MaxPodsOptions = {}): number {
  const l = instanceLimits(instanceType);
  if (!l) throw new Error(`unknown instance type "${instanceType}": not in the limits table`);
  return maxPodsFor(l, opts);
}
export { cpuClass, vcpusOfSize, type CpuClass } from './cpu-class.js';
export {
  calculateMaxPods,
  maxAllowedPods,
  parseCniVersion,
  prefixDelegationSupported,
  CalculatorError,
  CEILING_OVER_30_VCPUS,
  CEILING_UP_TO_30_VCPUS,
  type CalculatorInput,
} from './calculator.js';
