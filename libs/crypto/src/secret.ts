import { inspect } from 'node:util';

/**
 * Holds a secret so that it cannot leak by printing: toString, toJSON and util.inspect all
 * redact. Read it with `reveal()` only where the plaintext is really needed.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  get last4(): string {
    return this.#value.slice(-4);
  }
  toString(): string {
    return '[REDACTED]';
  }
  toJSON(): string {
    return '[REDACTED]';
  }
  [inspect.custom](): string {
    return 'Secret([REDACTED])';
  }
}
