import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What one test run captures to prove that no secret reaches a log: every app a harness starts
 * appends its log lines to `<run dir>/logs/<pid>.log` (LOG_FILE), and every secret a test or a
 * harness sees created is appended to `<run dir>/secrets/<pid>.jsonl`. Test files run in several
 * worker processes, so both live in files; the run dir is made by the global setup, which scans
 * everything once all files have finished (see global-setup.ts).
 */
export const RUN_DIR_ENV = 'KEYVAULT_TEST_RUN_DIR';

/** Shorter strings could match log text by chance; every real secret here is far longer. */
const MIN_SECRET_LENGTH = 10;

export function testRunDir(): string | undefined {
  return process.env[RUN_DIR_ENV] || undefined;
}

/** This process's log file for the apps it starts (undefined outside a vitest run). */
export function testLogFile(): string | undefined {
  const dir = testRunDir();
  return dir ? join(dir, 'logs', `${process.pid}.log`) : undefined;
}

/** A Set of secrets that also records each new one in the run's secrets file. */
export class SecretRegistry extends Set<string> {
  override add(secret: string): this {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH || this.has(secret)) return this;
    super.add(secret);
    const dir = testRunDir();
    if (dir) {
      mkdirSync(join(dir, 'secrets'), { recursive: true });
      appendFileSync(join(dir, 'secrets', `${process.pid}.jsonl`), `${JSON.stringify(secret)}\n`);
    }
    return this;
  }
}

/** Secrets the tests create, so the log scan can look for every one of them. */
export const createdSecrets = new SecretRegistry();

/**
 * Strings a test itself put where logs rightly show them (a URL path, a query parameter's
 * name): a fuzzer may send the same string as a provider key in one request and in a path in
 * another, and the scan must not take the second for a leak of the first.
 */
export function sentInTheOpen(value: string): void {
  const dir = testRunDir();
  if (!dir || value.length < MIN_SECRET_LENGTH) return;
  mkdirSync(join(dir, 'open'), { recursive: true });
  appendFileSync(join(dir, 'open', `${process.pid}.jsonl`), `${JSON.stringify(value)}\n`);
}

/**
 * Fields of api answers that carry a secret shown once, by the shape of the secret (`/me`
 * answers `api_key` with the key's id, which is no secret): tenant API keys, vault keys,
 * webhook secrets.
 */
const SECRET_ANSWER_FIELDS = new Map([
  ['api_key', 'kv_live_'],
  ['vault_key', 'vault_key_'],
  ['secret', 'whsec_'],
  ['gateway_key', 'kv_gw_'],
]);
/** Fields of api requests that carry provider keys (any shape). */
const SECRET_REQUEST_FIELDS = new Map([
  ['keys', ''],
  ['key', ''],
]);

function collect(value: unknown, fields: Map<string, string>, into: (s: string) => void, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    const prefix = fields.get(k);
    if (prefix !== undefined) {
      for (const item of Array.isArray(v) ? v : [v]) if (typeof item === 'string' && item.startsWith(prefix)) into(item);
    }
    collect(v, fields, into, depth + 1);
  }
}

/** Registers the secrets of one successful api exchange (the request's provider keys, the answer's shown-once secrets). */
export function registerExchangeSecrets(requestBody: unknown, responseBody: unknown): void {
  const add = (s: string) => void createdSecrets.add(s);
  collect(requestBody, SECRET_REQUEST_FIELDS, add);
  collect(responseBody, SECRET_ANSWER_FIELDS, add);
}

export interface SecretScan {
  secrets: number;
  logFiles: number;
  logLines: number;
  hits: { secret: string; file: string; line: string }[];
}

/** Looks for every registered secret in every captured log line of the run. */
export function scanRunForSecrets(dir: string): SecretScan {
  const read = (sub: string) => (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)).map((f) => join(dir, sub, f)) : []);
  const lines = (sub: string) => read(sub).flatMap((file) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string));
  const open = new Set(lines('open'));
  const secrets = new Set(lines('secrets').filter((s) => !open.has(s)));
  const logs = read('logs').map((file) => ({ file, text: readFileSync(file, 'utf8') }));
  const hits: SecretScan['hits'] = [];
  for (const secret of secrets) {
    for (const { file, text } of logs) {
      const at = text.indexOf(secret);
      if (at < 0) continue;
      const start = text.lastIndexOf('\n', at) + 1;
      const end = text.indexOf('\n', at);
      hits.push({ secret, file, line: text.slice(start, end < 0 ? undefined : end) });
    }
  }
  return { secrets: secrets.size, logFiles: logs.length, logLines: logs.reduce((n, l) => n + l.text.split('\n').length - 1, 0), hits };
}
