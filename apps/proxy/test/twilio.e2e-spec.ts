import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwilioStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';
import { spendChecks } from '../../../test/harness/spend';

const ACCOUNT_SID = `AC${'1a'.repeat(16)}`;
const AUTH_TOKEN = 'real-twilio-auth-token-0001';
/** What the client gives the SDK as its account SID: any AC... value, the proxy puts the profile's own in the path. */
const PLACEHOLDER_SID = `AC${'0'.repeat(32)}`;
const MESSAGES = '/2010-04-01/Accounts/*/Messages.json';

/**
 * The documented way to point twilio-node elsewhere: a custom `httpClient`. This one is the
 * SDK's own RequestClient with the API's origin swapped for the proxy's `/twilio` prefix.
 */
class KeyvaultRequestClient extends twilio.RequestClient {
  constructor(private readonly proxyUrl: string) {
    super();
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request({ ...opts, uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, `${this.proxyUrl}/twilio`) });
  }
}

describe('proxy with the official Twilio SDK (custom RequestClient)', () => {
  let api: ApiHarness;
  let stub: StubServer;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let credentialId: string;
  let checks: ReturnType<typeof spendChecks>;

  beforeAll(async () => {
    api = await startApi();
    stub = await startTwilioStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_TWILIO: stub.url });
    tenantId = await fx.tenant('Twilio user');
    credentialId = (await fx.credential(tenantId, { vendor: 'twilio', keys: [`${ACCOUNT_SID}:${AUTH_TOKEN}`] })).id;
    checks = spendChecks(api, fx, tenantId);
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const issue = (allowed = [`POST ${MESSAGES}`, 'GET /2010-04-01/Accounts/*/Messages/*'], capUsd = 1) =>
    fx.vaultKey(tenantId, { vendor: 'twilio', credentialId, capUsd, allowed });
  const client = (token: string) => {
    const http = new KeyvaultRequestClient(proxy.url);
    return { sdk: twilio(PLACEHOLDER_SID, token, { httpClient: http }), http };
  };
  const sms = (body: string) => ({ to: '+15005550006', from: '+15005550001', body });
  const failure = (e: unknown) => e as InstanceType<typeof twilio.RestException>;

  it("sends an SMS with the real account's SID and auth token, charged by segment before the call", async () => {
    const vk = await issue();
    stub.clear();
    const { sdk } = client(vk.token);
    const message = await sdk.messages.create(sms('a'.repeat(161)));
    expect(message).toMatchObject({ accountSid: ACCOUNT_SID, status: 'queued', numSegments: '2' });

    const [seen] = stub.seen();
    expect(seen.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(seen.headers.authorization).toBe(`Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`);
    const everything = JSON.stringify(seen.headers) + seen.body.toString();
    expect(everything).not.toContain(vk.token);
    expect(everything).not.toContain('vault_key_');
    expect(new URLSearchParams(seen.body.toString()).get('Body')).toBe('a'.repeat(161));

    // 2 GSM-7 segments at $0.0083
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.0166);
    const [row] = await checks.auditRows(vk.id);
    expect(row).toMatchObject({ vendor: 'twilio', method: 'POST', path: `/2010-04-01/Accounts/${PLACEHOLDER_SID}/Messages.json`, status: 201, cost_usd: 0.0166 });

    // reading it back is free
    const fetched = await sdk.messages(message.sid).fetch();
    expect(fetched.body).toBe('a'.repeat(161));
    expect(stub.seen()[1].path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${message.sid}.json`);
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.0166);
  });

  it('charges UCS-2 segments for a body outside GSM-7, and one MMS for a message with media', async () => {
    const vk = await issue();
    const { sdk } = client(vk.token);
    // 71 characters with an emoji: UCS-2, 67 code units per concatenated segment → 2 segments
    expect((await sdk.messages.create(sms(`${'ç'.repeat(68)} 😀`))).numSegments).toBe('2');
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.0166);
    await sdk.messages.create({ ...sms('a'.repeat(400)), mediaUrl: ['https://example.com/cat.png'] });
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.0386);
  });

  it('refuses account-level paths that would leave the profile account, whatever the allowlist says', async () => {
    const vk = await issue(['* /**']);
    stub.clear();
    const { sdk } = client(vk.token);
    const listing = failure(await sdk.api.v2010.accounts.list().catch((e: unknown) => e));
    expect(listing.status).toBe(403);
    const subaccount = failure(await sdk.api.v2010.accounts.create({ friendlyName: 'escape' }).catch((e: unknown) => e));
    expect(subaccount.status).toBe(403);
    const raw = await rawRequest(proxy.port, 'GET', '/twilio/2010-04-01/Accounts', { authorization: `Basic ${Buffer.from(`${PLACEHOLDER_SID}:${vk.token}`).toString('base64')}` });
    expect(raw.status).toBe(403);
    expect(JSON.parse(raw.body).error.code).toBe('endpoint_not_allowed');
    expect(stub.seen()).toHaveLength(0);
  });

  it('refuses a message it cannot price with 422 unpriced_request, forwarding nothing', async () => {
    const vk = await issue();
    stub.clear();
    const { sdk, http } = client(vk.token);
    const err = failure(await sdk.messages.create({ ...sms('hi'), to: 'whatsapp:+15005550006' }).catch((e: unknown) => e));
    expect(err.status).toBe(422);
    expect(http.lastResponse?.body).toMatchObject({ error: { code: 'unpriced_request', param: 'To' } });
    expect(stub.seen()).toHaveLength(0);
    expect(await checks.ledger(vk.id)).toBeUndefined();
  });

  it('refuses a call off the allowlist with 403, and a message above the cap with 429, forwarding nothing', async () => {
    const readOnly = await issue(['GET /2010-04-01/Accounts/*/Messages/*']);
    stub.clear();
    const { sdk, http } = client(readOnly.token);
    expect(failure(await sdk.messages.create(sms('hi')).catch((e: unknown) => e)).status).toBe(403);
    expect(http.lastResponse?.body).toMatchObject({ error: { code: 'endpoint_not_allowed' } });

    // $0.02 covers two segments, not three
    const small = await issue(undefined, 0.02);
    const capped = client(small.token);
    await capped.sdk.messages.create(sms('a'.repeat(300)));
    expect(failure(await capped.sdk.messages.create(sms('hi')).catch((e: unknown) => e)).status).toBe(429);
    expect(capped.http.lastResponse?.body).toMatchObject({ error: { code: 'daily_cap_exceeded' } });
    expect(stub.seen()).toHaveLength(1);
  });
});
