// Whether an instance type has more than 30 vCPUs: the one CPU fact EKS's max-pods recommendation needs (110
// pods at most up to 30 vCPUs, 250 above; see packages/shared/README.md, "max-pods calculator"). The bundled
// limits table carries no vCPU counts, so the class is read from the size name, which encodes it: EC2 sizes
// are 4 vCPUs per "xlarge" (`8xlarge` = 32), `metal-24xl` names its equivalent size, a plain `metal` is at
// least its family's largest size. The few types whose name misleads are listed with their vCPU count.
import { knownInstanceTypes } from './instance-limits.js';

export type CpuClass = 'up-to-30' | 'over-30' | 'unknown';

/** Types whose size name does not tell the class: vCPU counts from EC2's instance type documentation. */
const NAMED: Readonly<Record<string, number>> = {
  'hs1.8xlarge': 16,
  'hpc7a.12xlarge': 24,
  'mac1.metal': 12,
  'mac2.metal': 8,
  'mac2-m2.metal': 8,
  'mac2-m2pro.metal': 12,
  'mac2-m1ultra.metal': 20,
  'mac-m4.metal': 10,
  'mac-m4pro.metal': 14,
  'mac-m4max.metal': 16,
  'u-6tb1.metal': 448,
  'u-9tb1.metal': 448,
  'u-12tb1.metal': 448,
  'u-18tb1.metal': 448,
  'u-24tb1.metal': 448,
};

const XLARGE_VCPUS = 4;
const CEILING_VCPUS = 30;

const classOf = (vcpus: number): CpuClass => (vcpus > CEILING_VCPUS ? 'over-30' : 'up-to-30');

/** vCPUs implied by a size name (`large` 2, `xlarge` 4, `Nxlarge` 4N, `metal-Nxl` 4N); undefined for `metal`. */
export function vcpusOfSize(size: string): number | undefined {
  if (['nano', 'micro', 'small', 'medium', 'large'].includes(size)) return 2;
  if (size === 'xlarge') return XLARGE_VCPUS;
  const m = /^(?:(\d+)xlarge|metal-(\d+)xl)$/.exec(size);
  if (m) return Number(m[1] ?? m[2]) * XLARGE_VCPUS;
  return undefined;
}

/** Per family, the vCPUs of its largest size that names them (built once, on first use). */
let largestByFamily: Map<string, number> | undefined;

function largestSizeOf(family: string): number | undefined {
  if (!largestByFamily) {
    largestByFamily = new Map();
    for (const t of knownInstanceTypes()) {
      if (NAMED[t] !== undefined) continue;
      const dot = t.indexOf('.');
      const v = vcpusOfSize(t.slice(dot + 1));
      const f = t.slice(0, dot);
      if (v !== undefined && v > (largestByFamily.get(f) ?? 0)) largestByFamily.set(f, v);
    }
  }
  return largestByFamily.get(family);
}

export function cpuClass(instanceType: string): CpuClass {
  const named = NAMED[instanceType];
  if (named !== undefined) return classOf(named);
  const dot = instanceType.indexOf('.');
  if (dot < 0) return 'unknown';
  const family = instanceType.slice(0, dot);
  const size = instanceType.slice(dot + 1);
  const direct = vcpusOfSize(size);
  if (direct !== undefined) return classOf(direct);
  if (size !== 'metal') return 'unknown';
  // A plain metal size has the whole host: at least as many vCPUs as the family's largest other size.
  const largest = largestSizeOf(family);
  return largest === undefined ? 'unknown' : classOf(largest);
}
