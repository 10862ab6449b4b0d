// A bad environment variable: names the variable, the value and what is accepted.
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly accepted: string,
  ) {
    super(`invalid ${variable}=${JSON.stringify(value)}: accepted ${accepted}`);
    this.name = 'ConfigError';
  }
}

/** Every problem found in one pass, so an operator fixes them all at once. */
export class ConfigErrors extends Error {
  constructor(readonly errors: readonly Error[]) {
    super(
      errors.length === 1
        ? (errors[0] as Error).message
        : `${errors.length} configuration errors:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`,
    );
    this.name = 'ConfigErrors';
  }
}

/** Thrown by a parser; the loader turns it into a ConfigError naming the variable. */
export class Rejected extends Error {
  constructor(readonly accepted: string) {
    super(accepted);
  }
}
