// Subnet discovery rules (docs/architecture.md#subnet-discovery), one row per case.
import { describe, expect, it } from 'vitest';
import { type SubnetInfo, excludedForPods, validForEni } from './subnets.js';

const subnet = (id: string, tags: Record<string, string> = {}): SubnetInfo => ({
  id,
  cidr: '10.0.0.0/24',
  free: 10,
  tags: new Map(Object.entries(tags)),
});
const PRIMARY = 'subnet-primary';

describe('validForEni / excludedForPods', () => {
  it.each([
    ['untagged primary', subnet(PRIMARY), undefined, true, false],
    ['untagged other', subnet('subnet-x'), undefined, false, false],
    ['role=1 other', subnet('subnet-x', { 'kubernetes.io/role/cni': '1' }), undefined, true, false],
    ['role=0 primary', subnet(PRIMARY, { 'kubernetes.io/role/cni': '0' }), undefined, false, true],
    ['role=0 other', subnet('subnet-x', { 'kubernetes.io/role/cni': '0' }), undefined, false, true],
    ['role empty other', subnet('subnet-x', { 'kubernetes.io/role/cni': '' }), undefined, false, false],
    [
      'role=1, scoped to this cluster',
      subnet('subnet-x', { 'kubernetes.io/role/cni': '1', 'cni.networking.k8s.aws/cluster/prod': '' }),
      'prod',
      true,
      false,
    ],
    [
      'role=1, scoped to another cluster',
      subnet('subnet-x', { 'kubernetes.io/role/cni': '1', 'cni.networking.k8s.aws/cluster/dev': '1' }),
      'prod',
      false,
      true,
    ],
    [
      'role=1, scoped, CLUSTER_NAME unset',
      subnet('subnet-x', { 'kubernetes.io/role/cni': '1', 'cni.networking.k8s.aws/cluster/dev': '1' }),
      undefined,
      true,
      false,
    ],
  ])('%s', (_name, s, cluster, valid, excluded) => {
    expect(validForEni(s, PRIMARY, cluster)).toBe(valid);
    expect(excludedForPods(s, cluster)).toBe(excluded);
  });

  it('an unknown subnet is not excluded', () => {
    expect(excludedForPods(undefined)).toBe(false);
  });
});
