// How one environment variable is described: who reads it, its default, what it accepts and what it does.
export type Component = 'ipamd' | 'entrypoint' | 'init';

export interface Variable<T> {
  readonly name: string;
  readonly readBy: readonly Component[];
  /** Value when unset (or empty, when emptyIsUnset). */
  readonly default: T;
  /** How the default reads in the docs table, when it is not simply the value. */
  readonly defaultDoc?: string;
  /** What the shipped aws-node manifest sets, when it differs from the code default. */
  readonly manifest?: string;
  readonly description: string;
  /** Our addition (not an upstream variable). */
  readonly ours?: boolean;
  /** Treat an empty string like an unset variable (upstream does for most variables). */
  readonly emptyIsUnset?: boolean;
  parse(raw: string): T;
}

export function variable<T>(
  spec: Omit<Variable<T>, 'emptyIsUnset'> & { emptyIsUnset?: boolean },
): Variable<T> {
  return { emptyIsUnset: true, ...spec };
}
