// The policy model the agent works with: what a PolicyEndpoint rule says, after parsing (see ../k8s) and before
// compiling into map content (./compile.ts).
import type { Direction } from '../datapath/contract.js';

/** One `ports[]` item of a PolicyEndpoint rule. `protocol` is the CRD's string (default TCP). */
export interface PortSpec {
  protocol?: string;
  port?: number;
  endPort?: number;
}

/** One resolved peer of a policy: `cidr` (bare IP = host prefix), `except[]`, `ports[]` (empty = all). */
export interface PolicyRule {
  cidr: string;
  except: readonly string[];
  ports: readonly PortSpec[];
  /** `namespace/name` of the policy the rule came from (for logs and Warning events). */
  policy: string;
}

/** What all policies selecting one pod say for one direction. */
export interface DirectionPolicy {
  /** Some selecting policy isolates the pod in this direction (podIsolation, or it has rules for it). */
  isolated: boolean;
  rules: readonly PolicyRule[];
}

export type PodPolicy = Readonly<Record<Direction, DirectionPolicy>>;

/** Something the compiler could not encode as asked; the agent logs it and raises a Warning event. */
export type CompileIssue =
  | { kind: 'bad-cidr'; policy: string; value: string; reason: string }
  | { kind: 'bad-port'; policy: string; value: string; reason: string }
  | { kind: 'too-many-ports'; policies: readonly string[]; cidr: string; count: number };
