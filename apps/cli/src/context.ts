import type { Command } from 'commander';
import { createKeyvaultClient, type KeyvaultClient } from '@keyvault/client';
import { createOutput, type Output } from './output';

/** Options every command takes, from flags first, then the environment. */
export interface GlobalOptions {
  apiUrl?: string;
  apiKey?: string;
  tenant?: string;
  json?: boolean;
}

export const DEFAULT_API_URL = 'http://localhost:3000';

/** A mistake in how the CLI was called (exit code 2), as opposed to an answer from the api (exit code 1). */
export class UsageError extends Error {}

export interface CommandContext {
  client: KeyvaultClient;
  out: Output;
}

export function contextFor(cmd: Command, env: NodeJS.ProcessEnv = process.env): CommandContext {
  const o = cmd.optsWithGlobals<GlobalOptions>();
  const apiUrl = o.apiUrl ?? env.KEYVAULT_API_URL ?? DEFAULT_API_URL;
  const apiKey = o.apiKey ?? env.KEYVAULT_API_KEY;
  if (!apiKey) {
    throw new UsageError('No API key: set KEYVAULT_API_KEY (or pass --api-key) to the admin token or a kv_live_ key.');
  }
  if (!URL.canParse(apiUrl)) throw new UsageError(`The api URL '${apiUrl}' is not a URL (from --api-url or KEYVAULT_API_URL).`);
  const client = createKeyvaultClient({ apiUrl, apiKey, tenant: o.tenant ?? env.KEYVAULT_TENANT });
  return { client, out: createOutput(Boolean(o.json)) };
}

/** Parses a flag value as a whole number within bounds, or says which flag is wrong. */
export function intOption(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/**
 * Parses a budget cap in USD (above 0, at most 9 decimals); with `none` allowed, `none` (which
 * removes the cap: null on the wire, see capValue) is kept as is, since commander turns a null
 * from a parser into ''.
 */
export function usdCapOption(flag: string, noneAllowed = false) {
  return (value: string): number | 'none' => {
    if (noneAllowed && value === 'none') return 'none';
    const n = Number(value);
    if (!/^\d+(\.\d{1,9})?$/.test(value) || !(n > 0)) {
      throw new UsageError(`${flag} must be an amount in USD above 0 with at most 9 decimals${noneAllowed ? ", or 'none'" : ''}, got '${value}'`);
    }
    return n;
  };
}

/** A cap flag's value on the wire: `none` removes it (null). */
export const capValue = (v: number | 'none'): number | null => (v === 'none' ? null : v);

/** Collects a repeatable flag into a list. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Collects repeatable `key=value` flags into a flat string map (the contract's metadata). */
export function collectPairs(flag: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const i = value.indexOf('=');
    if (i <= 0) throw new UsageError(`${flag} takes key=value, got '${value}'`);
    return { ...previous, [value.slice(0, i)]: value.slice(i + 1) };
  };
}
