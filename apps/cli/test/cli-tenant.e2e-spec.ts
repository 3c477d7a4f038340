import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { eventually } from '../../../test/harness/wait';
import { assertCliBuilt, runCli, spawnCli } from './run-cli';

/**
 * The tenant-scoped commands (credentials, vault keys, audit) run as a backend or operator
 * would: with a tenant API key made by the CLI itself, against a real api, and for the audit
 * log, a real proxy in front of an OpenAI stand-in.
 */
describe('keyvault CLI inside a tenant', () => {
  let api: ApiHarness;
  let proxy: ProxyHarness;
  let openai: OpenAiStub;
  let admin: Record<string, string>;
  let tenant: Record<string, string>;
  let tenantId: string;
  const json = <T = Record<string, unknown>>(stdout: string): T => JSON.parse(stdout) as T;
  const PROVIDER_KEY = 'sk-test-cli-0000000000000000a1b2';

  beforeAll(async () => {
    assertCliBuilt();
    api = await startApi();
    openai = await startOpenAiStub();
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: openai.url });
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    admin = { KEYVAULT_API_URL: `http://127.0.0.1:${port}`, KEYVAULT_API_KEY: api.config.KEYVAULT_ADMIN_TOKEN };
    tenantId = json<{ id: string }>((await runCli(['tenants', 'create', 'Acme Agency', '--json'], admin)).stdout).id;
    const key = json<{ api_key: string }>((await runCli(['api-keys', 'create', tenantId, '--name', 'operator', '--json'], admin)).stdout);
    tenant = { KEYVAULT_API_URL: admin.KEYVAULT_API_URL, KEYVAULT_API_KEY: key.api_key };
  });
  afterAll(async () => {
    await proxy?.close();
    await openai?.close();
    await api?.close();
  });

  describe('credentials', () => {
    it('creates a profile from a key piped on stdin and never prints the key', async () => {
      const res = await runCli(['credentials', 'create', 'client_a_openai', '--vendor', 'openai', '--keys-from-stdin', '--default'], tenant, `${PROVIDER_KEY}\n`);
      expect(res).toMatchObject({ code: 0, stderr: '' });
      expect(res.stdout).toMatch(/^name\s+client_a_openai$/m);
      expect(res.stdout).toMatch(/^keys\s+ck_\S+ …a1b2 active$/m);
      expect(res.stdout).not.toContain(PROVIDER_KEY);

      const list = await runCli(['credentials', 'list'], tenant);
      expect(list.stdout.split('\n')[0].split(/\s{2,}/)).toEqual(['ID', 'NAME', 'VENDOR', 'STRATEGY', 'DEFAULT', 'KEYS', 'TODAY', 'THIS MONTH']);
      expect(list.stdout).toMatch(/client_a_openai\s+openai\s+round_robin\s+yes/);
      expect(list.stdout).not.toContain(PROVIDER_KEY);
    });

    it('rotates: adds a key, then retires the old one', async () => {
      const added = json<{ keys: { id: string; last4: string; status: string }[] }>(
        (await runCli(['credentials', 'add-key', 'client_a_openai', '--key-from-stdin', '--json'], tenant, 'sk-test-cli-second-key-c3d4\n')).stdout,
      );
      expect(added.keys.map((k) => [k.last4, k.status])).toEqual([
        ['a1b2', 'active'],
        ['c3d4', 'active'],
      ]);
      const retired = json<{ keys: { id: string; status: string }[] }>(
        (await runCli(['credentials', 'retire-key', 'client_a_openai', added.keys[0].id, '--json'], tenant)).stdout,
      );
      expect(retired.keys.find((k) => k.id === added.keys[0].id)?.status).toBe('retired');
    });

    it("sets and removes the profile's budgets (issue 19), and shows them with the period's spend", async () => {
      const set = await runCli(['credentials', 'set-caps', 'client_a_openai', '--daily-usd-cap', '10', '--monthly-usd-cap', '250.5', '--json'], tenant);
      expect(set.code).toBe(0);
      expect(json(set.stdout)).toMatchObject({ daily_usd_cap: 10, monthly_usd_cap: 250.5, spent_today_usd: 0, spent_this_month_usd: 0 });
      const shown = await runCli(['credentials', 'show', 'client_a_openai'], tenant);
      expect(shown.stdout).toMatch(/^daily_usd_cap\s+10$/m);
      const removed = json(await runCli(['credentials', 'set-caps', 'client_a_openai', '--daily-usd-cap', 'none', '--json'], tenant).then((r) => r.stdout));
      expect(removed).toMatchObject({ daily_usd_cap: null, monthly_usd_cap: 250.5 });
      const bad = await runCli(['credentials', 'set-caps', 'client_a_openai', '--monthly-usd-cap', '-3'], tenant);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--monthly-usd-cap');
      // leave the profile uncapped for the tests below
      await runCli(['credentials', 'set-caps', 'client_a_openai', '--monthly-usd-cap', 'none'], tenant);
    });

    it('the admin acts inside the tenant with --tenant', async () => {
      const res = await runCli(['credentials', 'list', '--json', '--tenant', tenantId], admin);
      expect(json<{ name: string }[]>(res.stdout).map((c) => c.name)).toContain('client_a_openai');
    });

    it('asks for a key when none is given (exit 2), and shows the api\'s refusal of a bad vendor (exit 1)', async () => {
      const none = await runCli(['credentials', 'create', 'empty', '--vendor', 'openai'], tenant);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('--keys-from-stdin');
      const bad = await runCli(['credentials', 'create', 'acme', '--vendor', 'acme', '--key', 'k-123456'], tenant);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('param: vendor');
    });
  });

  describe('vault keys', () => {
    const issue = (extra: string[] = []) =>
      runCli(
        ['vault-keys', 'issue', '--vendor', 'openai', '--credential', 'client_a_openai', '--daily-usd-cap', '5',
          '--allow', 'POST /v1/chat/completions', '--expires-in', '2h', ...extra],
        tenant,
      );

    it('issues a key, shows it once, and lists it with its spend and metadata', async () => {
      const res = await issue(['--label', 'dify-chat', '--metadata', 'conversation_id=chat_1', '--metadata', 'user_id=u_1']);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/^vault_key\s+vault_key_\S+$/m);
      expect(res.stdout).toContain('shown only once');
      const id = /^id\s+(vk_\S+)$/m.exec(res.stdout)![1];

      const list = await runCli(['vault-keys', 'list', '--label', 'dify-chat'], tenant);
      expect(list.stdout).toMatch(new RegExp(`${id}\\s+openai\\s+client_a_openai\\s+dify-chat\\s+active\\s+\\$0 / \\$5`));
      expect(list.stdout).toContain('conversation_id=chat_1,user_id=u_1');
      expect(list.stdout).not.toContain('vault_key_');

      const byMeta = json<{ id: string }[]>((await runCli(['vault-keys', 'list', '--json', '--metadata', 'conversation_id=chat_1'], tenant)).stdout);
      expect(byMeta.map((k) => k.id)).toEqual([id]);
    });

    it('issues a key with a lifetime cap, with or without a daily one (--total-usd-cap), and refuses one with neither', async () => {
      const both = await issue(['--json', '--total-usd-cap', '50']);
      expect(both.code).toBe(0);
      expect(json(both.stdout)).toMatchObject({ daily_usd_cap: 5, total_usd_cap: 50, total_spent_usd: 0 });
      const only = await runCli(
        ['vault-keys', 'issue', '--vendor', 'openai', '--credential', 'client_a_openai', '--total-usd-cap', '20', '--allow', 'POST /v1/chat/completions', '--expires-in', '2h', '--json'],
        tenant,
      );
      expect(json(only.stdout)).toMatchObject({ daily_usd_cap: null, total_usd_cap: 20 });
      const neither = await runCli(['vault-keys', 'issue', '--vendor', 'openai', '--allow', 'POST /v1/chat/completions', '--expires-in', '2h'], tenant);
      expect(neither.code).toBe(2);
      expect(neither.stderr).toContain('--total-usd-cap');
    });

    it('issues a key with guardrails (--max-usd-per-call, --allow-model) and shows them', async () => {
      const res = await issue(['--json', '--max-usd-per-call', '0.5', '--allow-model', 'gpt-4o-mini', '--allow-model', 'claude-3-5-haiku-*', '--duplicate-window', '5m', '--max-calls-per-minute', '30', '--max-tokens-per-minute', '200000']);
      expect(res.code).toBe(0);
      expect(json(res.stdout)).toMatchObject({ max_usd_per_call: 0.5, allowed_models: ['gpt-4o-mini', 'claude-3-5-haiku-*'], duplicate_window: '5m', max_calls_per_minute: 30, max_tokens_per_minute: 200_000 });
      const bad = await issue(['--max-usd-per-call', 'lots']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--max-usd-per-call');
    });

    it('revokes one key by id', async () => {
      const { id } = json<{ id: string }>((await issue(['--json'])).stdout);
      const res = await runCli(['vault-keys', 'revoke', id, '--json'], tenant);
      expect(json(res.stdout)).toMatchObject({ id, status: 'revoked' });
    });

    it('revokes every key of a label at once', async () => {
      await issue(['--label', 'batch-7']);
      await issue(['--label', 'batch-7']);
      const res = await runCli(['vault-keys', 'revoke', '--label', 'batch-7'], tenant);
      expect(res.stdout).toMatch(/^revoked\s+2$/m);
      const left = json<unknown[]>((await runCli(['vault-keys', 'list', '--json', '--label', 'batch-7', '--status', 'active'], tenant)).stdout);
      expect(left).toEqual([]);
    });

    it('needs exactly one of an id and filters to revoke (exit 2)', async () => {
      expect((await runCli(['vault-keys', 'revoke'], tenant)).code).toBe(2);
      expect((await runCli(['vault-keys', 'revoke', 'vk_x', '--label', 'y'], tenant)).code).toBe(2);
    });

    it('names the allowlist entry the api refuses', async () => {
      const res = await runCli(
        ['vault-keys', 'issue', '--vendor', 'openai', '--daily-usd-cap', '5', '--allow', 'FETCH it', '--expires-in', '2h'],
        tenant,
      );
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('param: allowed_endpoints.0');
    });

    it('a backend key with only vault_keys:issue cannot list (insufficient_scope)', async () => {
      const { api_key } = json<{ api_key: string }>(
        (await runCli(['api-keys', 'create', tenantId, '--name', 'issuer', '--scope', 'vault_keys:issue', '--json'], admin)).stdout,
      );
      const res = await runCli(['vault-keys', 'list'], { ...tenant, KEYVAULT_API_KEY: api_key });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('code: insufficient_scope');
    });
  });

  describe('audit tail', () => {
    it('prints the header and no rows when nothing matches', async () => {
      const res = await runCli(['audit', 'tail', '--run-id', 'no-such-run'], tenant);
      expect(res.code).toBe(0);
      expect(res.stdout.trimEnd().split('\n')).toHaveLength(1);
      expect(res.stdout.split(/\s{2,}/).map((h) => h.trim())).toEqual(['TIME', 'STATUS', 'VENDOR', 'CALL', 'COST', 'MS', 'VAULT KEY', 'RUN', 'CONVERSATION', 'ERROR']);
      expect((await runCli(['audit', 'tail', '--json', '--run-id', 'no-such-run'], tenant)).stdout).toBe('');
    });

    it('shows the api\'s refusal of a malformed filter', async () => {
      const res = await runCli(['audit', 'tail', '--status', '99x'], tenant);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('param: status');
    });
    async function proxiedChat(vaultKey: string, headers: Record<string, string>): Promise<number> {
      const res = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${vaultKey}`, 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
      });
      await res.text();
      return res.status;
    }
    const vaultKey = async () =>
      json<{ vault_key: string }>(
        (await runCli(['vault-keys', 'issue', '--vendor', 'openai', '--daily-usd-cap', '5', '--allow', 'POST /v1/chat/completions', '--expires-in', '1h', '--json'], tenant)).stdout,
      ).vault_key;

    it('shows the calls of one Dify run', async () => {
      expect(await proxiedChat(await vaultKey(), { 'X-Dify-Workflow-Run-Id': 'run-cli-1', 'X-Conversation-Id': 'conv-cli-1' })).toBe(200);
      // the proxy writes audit rows in batches just after answering
      await eventually(async () => (await api.admin().get('/audit?run_id=run-cli-1').set('Keyvault-Tenant', tenantId)).body.data?.length, 'the audit row');
      const res = await runCli(['audit', 'tail', '--run-id', 'run-cli-1'], tenant);
      const [header, row] = res.stdout.trimEnd().split('\n');
      expect(header.split(/\s{2,}/)).toEqual(['TIME', 'STATUS', 'VENDOR', 'CALL', 'COST', 'MS', 'VAULT KEY', 'RUN', 'CONVERSATION', 'ERROR']);
      expect(row).toMatch(/\s200\s+openai\s+POST \/v1\/chat\/completions\s/);
      expect(row).toContain('conv-cli-1');
    });

    it('--follow prints calls made after it started, as JSON lines with --json', async () => {
      const key = await vaultKey();
      const table = spawnCli(['audit', 'tail', '--follow', '--interval', '1', '--conversation-id', 'conv-follow'], tenant);
      const lines = spawnCli(['audit', 'tail', '--follow', '--json', '--interval', '1', '--conversation-id', 'conv-follow'], tenant);
      try {
        await table.waitForOutput('TIME'); // its first read is done: what comes now is news
        expect(await proxiedChat(key, { 'X-Conversation-Id': 'conv-follow', 'X-Run-Id': 'run-follow' })).toBe(200);
        await table.waitForOutput('run-follow');
        await lines.waitForOutput('run-follow');
        const entry = JSON.parse(lines.stdout().trim().split('\n')[0]) as Record<string, unknown>;
        expect(entry).toMatchObject({ object: 'audit_entry', conversation_id: 'conv-follow', run_id: 'run-follow', status: 200, vendor: 'openai' });
        // each row once, however many polls read it
        expect(table.stdout().split('run-follow').length - 1).toBe(1);
      } finally {
        await table.stop();
        await lines.stop();
      }
    });
  });
});
