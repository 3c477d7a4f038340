import { Resend } from 'resend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResendStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { spendChecks } from '../../../test/harness/spend';

const REAL_KEY = 're_real_resend_key_0001';
const FROM = 'Acme <onboarding@resend.dev>';

describe('proxy with the official Resend SDK (baseUrl option)', () => {
  let api: ApiHarness;
  let stub: StubServer;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let credentialId: string;
  let checks: ReturnType<typeof spendChecks>;

  beforeAll(async () => {
    api = await startApi();
    stub = await startResendStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_RESEND: stub.url });
    tenantId = await fx.tenant('Resend user');
    credentialId = (await fx.credential(tenantId, { vendor: 'resend', keys: [REAL_KEY] })).id;
    checks = spendChecks(api, fx, tenantId);
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const issue = (allowed = ['POST /emails', 'POST /emails/batch', 'GET /emails/*'], capUsd = 1) =>
    fx.vaultKey(tenantId, { vendor: 'resend', credentialId, capUsd, allowed });
  const client = (token: string) => new Resend(token, { baseUrl: `${proxy.url}/resend` });

  it('sends an email with the real key, charging every recipient (to, cc, bcc) as one email', async () => {
    const vk = await issue();
    stub.clear();
    const resend = client(vk.token);
    const sent = await resend.emails.send(
      { from: FROM, to: ['ada@example.com', 'bob@example.com'], cc: 'cy@example.com', bcc: ['di@example.com'], subject: 'Hi', html: '<p>Hi</p>' },
      { idempotencyKey: 'welcome/42' },
    );
    expect(sent.error).toBeNull();
    expect(sent.data?.id).toMatch(/^[0-9a-f-]{36}$/);

    const [seen] = stub.seen();
    expect(seen.path).toBe('/emails');
    expect(seen.headers.authorization).toBe(`Bearer ${REAL_KEY}`);
    expect(seen.headers['idempotency-key']).toBe('welcome/42');
    const everything = JSON.stringify(seen.headers) + seen.body.toString();
    expect(everything).not.toContain(vk.token);
    expect(everything).not.toContain('vault_key_');

    // 4 recipients at $0.0009
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.0036);
    const [row] = await checks.auditRows(vk.id);
    expect(row).toMatchObject({ vendor: 'resend', method: 'POST', path: '/emails', status: 200, cost_usd: 0.0036 });

    // reading it back is free
    const got = await resend.emails.get(sent.data!.id);
    expect(got.data).toMatchObject({ id: sent.data!.id, subject: 'Hi' });
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.0036);
  });

  it('charges a batch the sum of its emails, and a permissive batch only the emails it sent', async () => {
    const vk = await issue();
    const resend = client(vk.token);
    const strict = await resend.batch.send([
      { from: FROM, to: 'ada@example.com', subject: '1', text: '1' },
      { from: FROM, to: ['bob@example.com', 'cy@example.com'], subject: '2', text: '2' },
    ]);
    expect(strict.data?.data).toHaveLength(2);
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.0027);

    const vk2 = await issue();
    // the second email has no sender: Resend skips it and reports it in `errors`
    const permissive = await client(vk2.token).batch.send(
      [
        { from: FROM, to: 'ada@example.com', subject: '1', text: '1' },
        { to: ['bob@example.com', 'cy@example.com', 'di@example.com'], subject: '2', text: '2' } as unknown as { from: string; to: string[]; subject: string; text: string },
        { from: FROM, to: 'eve@example.com', cc: 'fay@example.com', subject: '3', text: '3' },
      ],
      { batchValidation: 'permissive' },
    );
    expect(permissive.data?.data).toHaveLength(2);
    expect(permissive.data?.errors).toEqual([{ index: 1, message: 'Missing `from` field.' }]);
    // 6 recipients reserved, 3 sent
    expect(await checks.spentTodayUsd(vk2.id)).toBe(0.0027);
  });

  it('refuses an email without recipients with 422 unpriced_request, forwarding nothing', async () => {
    const vk = await issue();
    stub.clear();
    const res = await client(vk.token).emails.send({ from: FROM, to: [], subject: 'Hi', text: 'Hi' });
    expect(res.data).toBeNull();
    expect(res.error).toMatchObject({ error: { type: 'invalid_request_error', code: 'unpriced_request', param: 'to' } });
    expect(stub.seen()).toHaveLength(0);
  });

  it('refuses a call off the allowlist with 403, and an email above the cap with 429, forwarding nothing', async () => {
    const readOnly = await issue(['GET /emails/*']);
    stub.clear();
    const refused = await client(readOnly.token).emails.send({ from: FROM, to: 'ada@example.com', subject: 'Hi', text: 'Hi' });
    expect(refused.error).toMatchObject({ error: { type: 'permission_error', code: 'endpoint_not_allowed' } });

    // $0.002 covers two emails, not three
    const small = await issue(undefined, 0.002);
    const capped = await client(small.token).emails.send({ from: FROM, to: ['a@example.com', 'b@example.com', 'c@example.com'], subject: 'Hi', text: 'Hi' });
    expect(capped.error).toMatchObject({ error: { type: 'rate_limit_error', code: 'daily_cap_exceeded' } });
    expect(stub.seen()).toHaveLength(0);
  });
});
