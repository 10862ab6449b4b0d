// CNI spec versions this plugin speaks, and their ordering.
import { excerpt } from '@vpc-cni/shared/describe';
import { CniCode, CniError } from './errors.js';

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

export function isSupportedVersion(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Negative, zero or positive like a comparator; both must be supported versions. */
export function compareVersions(a: CniVersion, b: CniVersion): number {
  return SUPPORTED_VERSIONS.indexOf(a) - SUPPORTED_VERSIONS.indexOf(b);
}

/** An empty version means 0.1.0 (CNI library semantics); anything unknown is error 1. */
export function requireVersion(v: string | undefined): CniVersion {
  const version = v === undefined || v === '' ? '0.1.0' : v;
  if (isSupportedVersion(version)) return version;
  throw new CniError(
    CniCode.IncompatibleVersion,
    'incompatible CNI versions',
    `config is ${excerpt(version)}, plugin supports [${SUPPORTED_VERSIONS.map((s) => `"${s}"`).join(' ')}]`,
  );
}

/** The VERSION command's answer. */
export function versionInfo(): { cniVersion: CniVersion; supportedVersions: CniVersion[] } {
  return { cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}
