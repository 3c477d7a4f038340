import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { assertCliBuilt, runCli } from './run-cli';

/** Gateway keys and grouped provider keys from the CLI, with a tenant API key, against a real api. */
describe('keyvault CLI: gateway keys and key groups', () => {
  let api: ApiHarness;
  let tenant: Record<string, string>;
  const json = <T = Record<string, unknown>>(stdout: string): T => JSON.parse(stdout) as T;

  beforeAll(async () => {
    assertCliBuilt();
    api = await startApi();
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    const admin = { KEYVAULT_API_URL: `http://127.0.0.1:${port}`, KEYVAULT_API_KEY: api.config.KEYVAULT_ADMIN_TOKEN };
    const tenantId = json<{ id: string }>((await runCli(['tenants', 'create', 'Gateway Co', '--json'], admin)).stdout).id;
    const key = json<{ api_key: string }>((await runCli(['api-keys', 'create', tenantId, '--name', 'operator', '--json'], admin)).stdout);
    tenant = { KEYVAULT_API_URL: admin.KEYVAULT_API_URL, KEYVAULT_API_KEY: key.api_key };
  });
  afterAll(async () => {
    await api?.close();
  });

  it('creates a gateway key shown once, lists it without the key, and revokes it', async () => {
    const created = json<{ id: string; gateway_key: string; scope: string }>((await runCli(['gateway-keys', 'create', 'dify production', '--json'], tenant)).stdout);
    expect(created.gateway_key).toMatch(/^kv_gw_/);
    expect(created.scope).toBe('gateway');
    const list = await runCli(['gateway-keys', 'list'], tenant);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(created.id);
    expect(list.stdout).toMatch(/dify production\s+\S{4}\s+active/);
    expect(list.stdout).not.toContain(created.gateway_key);
    const revoked = json<{ status: string }>((await runCli(['gateway-keys', 'revoke', created.id, '--json'], tenant)).stdout);
    expect(revoked.status).toBe('revoked');
  });

  it('adds a provider key to a group', async () => {
    await runCli(['credentials', 'create', 'company_openai', '--vendor', 'openai', '--keys-from-stdin'], tenant, 'sk-test-shared-key-0001\n');
    const res = await runCli(['credentials', 'add-key', 'company_openai', '--group', 'team-b', '--key-from-stdin', '--json'], tenant, 'sk-test-team-b-key-0002\n');
    expect(res.code).toBe(0);
    const keys = json<{ keys: { last4: string; group: string | null }[] }>(res.stdout).keys;
    expect(keys.map((k) => [k.last4, k.group])).toEqual([['0001', null], ['0002', 'team-b']]);
  });
});
