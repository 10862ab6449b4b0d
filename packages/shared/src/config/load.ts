// Reads the environment once into typed settings. Only variables the component reads can fail its start-up;
// the rest keep their defaults.
import { ConfigError, ConfigErrors, Rejected } from './errors.js';
import type { Component, Variable } from './variable.js';
import { variables, type Settings, type VariableName } from './variables.js';

export type Env = Readonly<Record<string, string | undefined>>;

export function loadSettings(component: Component, env: Env = process.env): Settings {
  const out: Record<string, unknown> = {};
  const errors: Error[] = [];
  for (const [name, spec] of Object.entries(variables) as Array<[VariableName, Variable<unknown>]>) {
    const raw = env[name];
    const unset = raw === undefined || (spec.emptyIsUnset === true && raw.trim() === '');
    if (unset || !spec.readBy.includes(component)) {
      out[name] = spec.default;
      continue;
    }
    try {
      out[name] = spec.parse(raw.trim());
    } catch (e) {
      if (!(e instanceof Rejected)) throw e;
      errors.push(new ConfigError(name, raw, e.accepted));
    }
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return out as Settings;
}

/** Collects cross-variable problems and throws them together. */
export class Checks {
  private readonly errors: Error[] = [];
  require(ok: boolean, message: string): void {
    if (!ok) this.errors.push(new Error(message));
  }
  done(): void {
    if (this.errors.length > 0) throw new ConfigErrors(this.errors);
  }
}
