// How one environment variable is described: who reads it, its default, what it accepts and what it does.
import { parseBool } from './parsers.js';

export type Component = 'ipamd' | 'entrypoint' | 'init';

/** Short names for `readBy` lists. */
export const I = 'ipamd' as const;
export const E = 'entrypoint' as const;
export const N = 'init' as const;

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

/** A true/false variable (upstream's strconv.ParseBool spellings). */
export const bool = (
  name: string,
  readBy: Component[],
  def: boolean,
  description: string,
  extra: { manifest?: string; ours?: boolean } = {},
) => variable<boolean>({ name, readBy, default: def, description, parse: parseBool, ...extra });
