import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '../../..');
const API_MAIN = join(root, 'dist/apps/api/apps/api/src/main.js');
const PROXY_MAIN = join(root, 'dist/apps/proxy/apps/proxy/src/main.js');

const good = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
  KEYVAULT_MASTER_KEY: randomBytes(32).toString('base64'),
  KEYVAULT_ADMIN_TOKEN: 'a'.repeat(40),
};

/** Starts the built app with only `env` and returns how it ended. */
function start(main: string, env: Record<string, string | undefined>) {
  const clean = Object.fromEntries(Object.entries({ PATH: process.env.PATH, ...env }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const r = spawnSync(process.execPath, [main], { env: clean, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr.trim(), stdout: r.stdout.trim() };
}

describe('configuration is validated at start', () => {
  it.each([
    ['a missing master key', { KEYVAULT_MASTER_KEY: undefined }, 'Invalid configuration: KEYVAULT_MASTER_KEY is required'],
    ['a master key of 16 bytes', { KEYVAULT_MASTER_KEY: randomBytes(16).toString('base64') }, 'Invalid configuration: KEYVAULT_MASTER_KEY must be 32 bytes encoded as base64'],
    ['a master key that is not base64', { KEYVAULT_MASTER_KEY: '!'.repeat(44) }, 'Invalid configuration: KEYVAULT_MASTER_KEY must be 32 bytes'],
    ['a bad database URL', { DATABASE_URL: 'not a url' }, 'Invalid configuration: DATABASE_URL'],
    ['a port out of range', { API_PORT: '70000' }, 'Invalid configuration: API_PORT'],
    ['a worker count that is not a number', { API_WORKERS: 'many' }, 'Invalid configuration: API_WORKERS must be a whole number from 1 to 64, or auto'],
    ['zero workers', { API_WORKERS: '0' }, 'Invalid configuration: API_WORKERS must be a whole number from 1 to 64, or auto'],
    ['a short admin token', { KEYVAULT_ADMIN_TOKEN: 'short' }, 'Invalid configuration: KEYVAULT_ADMIN_TOKEN must be at least 32 characters'],
  ])('api stops on %s with one line naming the setting', (_, override, line) => {
    const r = start(API_MAIN, { ...good, ...override });
    expect(r.status).toBe(78);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(line);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
  });

  it('proxy stops on a bad upstream URL with one line', () => {
    const r = start(PROXY_MAIN, { ...good, KEYVAULT_UPSTREAM_OPENAI: 'ftp://example' });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/^Invalid configuration: KEYVAULT_UPSTREAM_OPENAI/);
    expect(r.stderr.split('\n')).toHaveLength(1);
  });

  it('never echoes the secret it refuses', () => {
    const badKey = 'c2VjcmV0LXRoYXQtaXMtdG9vLXNob3J0';
    const r = start(API_MAIN, { ...good, KEYVAULT_MASTER_KEY: badKey });
    expect(r.stderr).not.toContain(badKey);
  });
});
