// The CNI environment (CNI_* variables) and CNI_ARGS, validated as the CNI library's dispatcher does.
import { clip, excerpt } from '@vpc-cni/shared/describe';
import { CniCode, CniError } from './errors.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniEnv {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly netns: string;
  readonly ifName: string;
  readonly args: string;
  readonly path: string;
  readonly netnsOverride: boolean;
}

export interface K8sArgs {
  readonly K8S_POD_NAME: string;
  readonly K8S_POD_NAMESPACE: string;
  readonly K8S_POD_INFRA_CONTAINER_ID: string;
  readonly K8S_POD_UID: string;
  readonly IgnoreUnknown: boolean;
}

const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Which variables each command requires (CNI_NETNS is optional for DEL). */
const REQUIRED: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

export function isValidId(id: string): boolean {
  return ID_RE.test(id);
}

/** Interface-name rules of the CNI library (Linux IFNAMSIZ and path safety). */
export function validateIfName(name: string): void {
  const bad = (msg: string, details = '') => new CniError(CniCode.InvalidEnv, msg, details);
  if (name === '') throw bad('interface name is empty');
  if (name.length > 15)
    throw bad('interface name is too long', 'interface name should be less than 16 characters');
  if (name === '.' || name === '..') throw bad('interface name is . or ..');
  if (/[/:\s]/.test(name)) throw bad('interface name contains / or : or whitespace characters');
}

/**
 * Reads and validates the CNI variables. `undefined` command means "no CNI_COMMAND": the caller prints the
 * human-readable version banner instead.
 */
export function parseEnv(env: Readonly<Record<string, string | undefined>>): CniEnv | undefined {
  const raw = env['CNI_COMMAND'] ?? '';
  if (raw === '') return undefined;
  if (!(COMMANDS as readonly string[]).includes(raw)) {
    throw new CniError(
      CniCode.InvalidEnv,
      `unknown CNI_COMMAND: ${clip(raw)}`,
      `expected one of ${COMMANDS.join(', ')}`,
    );
  }
  const command = raw as CniCommand;
  const get = (k: string) => env[k] ?? '';
  const required = REQUIRED[command];
  const containerId = get('CNI_CONTAINERID');
  if (required.includes('CNI_CONTAINERID')) {
    if (containerId === '') throw new CniError(CniCode.UnknownContainer, 'missing containerID');
    if (!isValidId(containerId)) {
      throw new CniError(CniCode.InvalidEnv, 'invalid characters in containerID', containerId);
    }
  }
  const ifName = get('CNI_IFNAME');
  if (required.includes('CNI_IFNAME') && ifName !== '') validateIfName(ifName);
  const missing = required.filter((k) => k !== 'CNI_CONTAINERID' && get(k) === '');
  if (missing.length > 0) {
    throw new CniError(
      CniCode.InvalidEnv,
      `required env variables [${missing.join(',')}] missing`,
      'the container runtime must set these variables; run the plugin through a CNI runtime',
    );
  }
  const override = get('CNI_NETNS_OVERRIDE').toLowerCase();
  return {
    command,
    containerId,
    netns: get('CNI_NETNS'),
    ifName,
    args: get('CNI_ARGS'),
    path: get('CNI_PATH'),
    netnsOverride: override === '1' || override === 'true',
  };
}

function parseBool(pair: string, v: string): boolean {
  const l = v.toLowerCase();
  if (l === '1' || l === 'true') return true;
  if (l === '0' || l === 'false') return false;
  throw new CniError(
    CniCode.InvalidEnv,
    `ARGS: error parsing value of pair ${excerpt(pair)}: boolean unmarshal error: invalid input ${clip(v)}`,
  );
}

/** Parses `K=V;K=V` CNI_ARGS; unknown keys are an error unless IgnoreUnknown is true anywhere. */
export function parseK8sArgs(args: string): K8sArgs {
  const out = {
    K8S_POD_NAME: '',
    K8S_POD_NAMESPACE: '',
    K8S_POD_INFRA_CONTAINER_ID: '',
    K8S_POD_UID: '',
    IgnoreUnknown: false,
  };
  const unknown: string[] = [];
  if (args === '') return out;
  for (const pair of args.split(';')) {
    const kv = pair.split('=');
    if (kv.length !== 2) throw new CniError(CniCode.InvalidEnv, `ARGS: invalid pair ${excerpt(pair)}`);
    const [k = '', v = ''] = kv;
    switch (k) {
      case 'K8S_POD_NAME':
      case 'K8S_POD_NAMESPACE':
      case 'K8S_POD_INFRA_CONTAINER_ID':
      case 'K8S_POD_UID':
        out[k] = v;
        break;
      case 'IgnoreUnknown':
        out.IgnoreUnknown = parseBool(pair, v);
        break;
      default:
        unknown.push(pair);
    }
  }
  if (unknown.length > 0 && !out.IgnoreUnknown) {
    throw new CniError(
      CniCode.InvalidEnv,
      `ARGS: unknown args [${unknown
        .slice(0, 5)
        .map((u) => excerpt(u))
        .join(' ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}]`,
      'add IgnoreUnknown=1 to CNI_ARGS to pass extra keys',
    );
  }
  return out;
}
