// What the commands need from the outside world, as small interfaces: ipamd, the policy agent and the kernel.
import type {
  AddNetworkReply,
  AddNetworkRequest,
  DelNetworkReply,
  DelNetworkRequest,
  GarbageCollectReply,
  GarbageCollectRequest,
} from '@vpc-cni/shared/rpc';
import type { Logger } from '@vpc-cni/shared/logging';
import type { Op } from '../plan/ops.js';
import type { KernelView } from './check.js';

export interface IpamClient {
  addNetwork(req: AddNetworkRequest, deadlineMs: number): Promise<AddNetworkReply>;
  delNetwork(req: DelNetworkRequest, deadlineMs: number): Promise<DelNetworkReply>;
  /** vpccni.v1.CNIGarbageCollector (our extension; UNIMPLEMENTED on an upstream ipamd). */
  gc(req: GarbageCollectRequest, deadlineMs: number): Promise<GarbageCollectReply>;
  /** grpc.health.v1 Check: true = SERVING, false = NOT_SERVING. */
  health(deadlineMs: number): Promise<boolean>;
  /** Settles when the calls made so far have reached the socket (or the connection failed). */
  connected?(): Promise<void>;
  close(): void;
}

export interface PolicyClient {
  enforce(podName: string, podNamespace: string, mode: string, interfaceCount: number): Promise<boolean>;
  deletePod(podName: string, podNamespace: string): Promise<void>;
  close(): void;
}

/** Applies plan operations; `podNetns` is the CNI_NETNS path for ops with ns 'pod'. */
export interface OpExecutor {
  apply(op: Op, podNetns: string): Promise<void>;
  close(): void;
}

export interface Deps {
  readonly version: string;
  readonly logger: Logger;
  ipam(endpoint: string): IpamClient;
  /** The network policy agent at `endpoint` (NetConf.npaEndpoint). */
  policy(endpoint: string): PolicyClient;
  executor(): Promise<OpExecutor>;
  /** Reads the kernel state of a pod (host netns + `podNetns`); the caller closes it. */
  view(podNetns: string): Promise<KernelView & { close(): void }>;
  randomMac(): string;
}

/** Delete deadline: DEL should be quick; ipamd answers it from memory. */
export const DEL_DEADLINE_MS = 10_000;
export const STATUS_DEADLINE_MS = 2_000;
