import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { assertCliBuilt, runCli } from './run-cli';

describe('keyvault CLI against a running api', () => {
  let api: ApiHarness;
  let env: Record<string, string>;
  beforeAll(async () => {
    assertCliBuilt();
    api = await startApi();
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    env = { KEYVAULT_API_URL: `http://127.0.0.1:${port}`, KEYVAULT_API_KEY: api.config.KEYVAULT_ADMIN_TOKEN };
  });
  afterAll(async () => api?.close());

  const json = <T = Record<string, unknown>>(stdout: string): T => JSON.parse(stdout) as T;

  describe('tenants', () => {
    it('creates a tenant and prints it as fields, or as the api\'s JSON with --json', async () => {
      const table = await runCli(['tenants', 'create', 'Client A', '--slug', 'client-a'], env);
      expect(table).toMatchObject({ code: 0, stderr: '' });
      expect(table.stdout).toMatch(/^id\s+ten_[0-9a-z]{26}$/m);
      expect(table.stdout).toMatch(/^slug\s+client-a$/m);

      const created = await runCli(['tenants', 'create', 'Client B', '--max-vault-key-ttl', '7d', '--json'], env);
      expect(created.code).toBe(0);
      expect(json(created.stdout)).toMatchObject({ object: 'tenant', name: 'Client B', status: 'active', max_vault_key_ttl: '7d' });
    });

    it('lists tenants as a table with a header row, and as a JSON array', async () => {
      const table = await runCli(['tenants', 'list'], env);
      expect(table.code).toBe(0);
      const [header, ...rows] = table.stdout.trimEnd().split('\n');
      expect(header.split(/\s{2,}/)).toEqual(['ID', 'NAME', 'SLUG', 'STATUS', 'MAX TTL', 'THIS MONTH', 'CREATED']);
      expect(rows.some((r) => r.includes('client-a'))).toBe(true);

      const list = await runCli(['tenants', 'list', '--json', '--limit', '1'], env);
      const data = json<{ name: string }[]>(list.stdout);
      expect(data).toHaveLength(1);
      expect(list.stdout).not.toContain('more:'); // hints are for people, never in JSON output
    });

    it("sets and removes a tenant's monthly cap (issue 19), and shows the month's spend", async () => {
      const created = await runCli(['tenants', 'create', 'Capped', '--monthly-usd-cap', '5000', '--json'], env);
      expect(created.stderr).toBe('');
      const { id } = json<{ id: string }>(created.stdout);
      const shown = await runCli(['tenants', 'show', id, '--json'], env);
      expect(shown.stderr).toBe('');
      expect(json(shown.stdout)).toMatchObject({ monthly_usd_cap: 5000, spent_this_month_usd: 0 });
      expect(json((await runCli(['tenants', 'set-cap', id, '--monthly-usd-cap', '120.25', '--json'], env)).stdout)).toMatchObject({ monthly_usd_cap: 120.25 });
      const removed = await runCli(['tenants', 'set-cap', id, '--monthly-usd-cap', 'none', '--json'], env);
      expect(removed.stderr).toBe('');
      expect(json(removed.stdout)).toMatchObject({ monthly_usd_cap: null });
      expect((await runCli(['tenants', 'set-cap', id, '--monthly-usd-cap', 'lots'], env)).code).toBe(2);
    });

    it('disables and enables a tenant', async () => {
      const { id } = json<{ id: string }>((await runCli(['tenants', 'create', 'Toggle', '--json'], env)).stdout);
      expect(json((await runCli(['tenants', 'disable', id, '--json'], env)).stdout)).toMatchObject({ id, status: 'disabled' });
      const enabled = await runCli(['tenants', 'enable', id], env);
      expect(enabled.stdout).toMatch(/^status\s+active$/m);
    });
  });

  describe('api keys', () => {
    it('creates a scoped key, shows it once, and lists it without the secret', async () => {
      const { id: tenant } = json<{ id: string }>((await runCli(['tenants', 'create', 'Keys', '--json'], env)).stdout);
      const created = await runCli(['api-keys', 'create', tenant, '--name', 'chat backend', '--scope', 'vault_keys:issue'], env);
      expect(created.code).toBe(0);
      const secret = /^api_key\s+(kv_live_\S+)$/m.exec(created.stdout)?.[1];
      expect(secret).toBeDefined();
      expect(created.stdout).toContain('shown only once');

      const list = await runCli(['api-keys', 'list', tenant], env);
      expect(list.stdout).toContain('chat backend');
      expect(list.stdout).toContain('vault_keys:issue');
      expect(list.stdout).not.toContain(secret!);
    });
  });

  describe('errors', () => {
    it('prints the api\'s code and message, exits 1, and shows no stack trace', async () => {
      const res = await runCli(['api-keys', 'list', 'ten_00000000000000000000000000'], env);
      expect(res.code).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toContain("No such tenant: 'ten_00000000000000000000000000'");
      expect(res.stderr).toContain('code: resource_missing');
      expect(res.stderr).toContain('status: 404');
      expect(res.stderr).not.toMatch(/^\s+at /m);
    });

    it('names the param of a validation error', async () => {
      const res = await runCli(['tenants', 'create', 'Bad', '--slug', 'Not A Slug'], env);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('code: parameter_invalid');
      expect(res.stderr).toContain('param: slug');
    });

    it('refuses a wrong API key with invalid_api_key', async () => {
      const res = await runCli(['tenants', 'list'], { ...env, KEYVAULT_API_KEY: 'kv_live_wrong' });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('code: invalid_api_key');
    });

    it('exits 2 with a hint when no API key is configured', async () => {
      const res = await runCli(['tenants', 'list'], { KEYVAULT_API_URL: env.KEYVAULT_API_URL });
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('KEYVAULT_API_KEY');
    });

    it('exits 2 on an unknown command or a malformed flag value', async () => {
      expect((await runCli(['tenant', 'list'], env)).code).toBe(2);
      const limit = await runCli(['tenants', 'list', '--limit', '500'], env);
      expect(limit.code).toBe(2);
      expect(limit.stderr).toContain('--limit must be a whole number from 1 to 100');
    });

    it('says so when the api cannot be reached', async () => {
      const res = await runCli(['tenants', 'list'], { ...env, KEYVAULT_API_URL: 'http://127.0.0.1:9' });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('Cannot reach the Keyvault api at http://127.0.0.1:9');
    });

    it('prefers flags to the environment', async () => {
      const res = await runCli(
        ['tenants', 'list', '--json', '--api-url', env.KEYVAULT_API_URL, '--api-key', env.KEYVAULT_API_KEY],
        { KEYVAULT_API_URL: 'http://127.0.0.1:9', KEYVAULT_API_KEY: 'wrong' },
      );
      expect(res.code).toBe(0);
      expect(Array.isArray(json(res.stdout))).toBe(true);
    });
  });

  it('--help lists the command groups and exits 0', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    for (const group of ['tenants', 'api-keys']) expect(res.stdout).toContain(group);
  });
});
