import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';

const SHARED = 'sk-real-shared-key-0001';
const USER_A = 'sk-real-user-a-own-0002';
const TEAM_B1 = 'sk-real-team-b-one-0003';
const TEAM_B2 = 'sk-real-team-b-two-0004';

/** Provider keys assigned per user and per group inside one profile, chosen by the vault key's key_group. */
describe('key groups', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let credentialId: string;
  const keyIds: Record<string, string> = {};

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
    tenantId = await fx.tenant('Company');
    const profile = await fx.credential(tenantId, { vendor: 'openai', keys: [SHARED] });
    credentialId = profile.id;
    keyIds[SHARED] = profile.keyIds[0];
    for (const [key, group] of [[USER_A, 'user-a'], [TEAM_B1, 'team-b'], [TEAM_B2, 'team-b']]) {
      const res = await api.admin().post(`/credentials/${credentialId}/keys`).set('Keyvault-Tenant', tenantId).send({ key, group });
      expect(res.status).toBe(201);
      const added = (res.body.keys as { id: string; group: string | null }[]).at(-1)!;
      expect(added.group).toBe(group);
      keyIds[key] = added.id;
    }
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const issue = async (extra: Record<string, unknown>) => {
    const res = await api.admin().post('/vault/keys').set('Keyvault-Tenant', tenantId).send({
      vendor: 'openai', credential: credentialId, daily_usd_cap: 5, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h', ...extra,
    });
    return res;
  };
  const vaultKey = async (extra: Record<string, unknown>) => {
    const res = await issue(extra);
    expect(res.status).toBe(201);
    return { id: res.body.id as string, token: res.body.vault_key as string, body: res.body as Record<string, unknown> };
  };
  const ask = (token: string) =>
    new OpenAI({ apiKey: token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say meow' }], max_tokens: 16,
    });
  const keysSeen = () => stub.seen().map((s) => s.headers.authorization);

  it("sends user A's vault key only to A's own key", async () => {
    const vk = await vaultKey({ key_group: 'user-a' });
    expect(vk.body).toMatchObject({ key_group: 'user-a', fallback_to_shared: false });
    stub.clear();
    for (let i = 0; i < 3; i++) await ask(vk.token);
    expect(keysSeen()).toEqual([`Bearer ${USER_A}`, `Bearer ${USER_A}`, `Bearer ${USER_A}`]);
  });

  it('sends a vault key without a group to the shared keys only', async () => {
    const vk = await vaultKey({});
    expect(vk.body).toMatchObject({ key_group: null, fallback_to_shared: false });
    stub.clear();
    for (let i = 0; i < 3; i++) await ask(vk.token);
    expect(new Set(keysSeen())).toEqual(new Set([`Bearer ${SHARED}`]));
  });

  it("sends team B's vault key to the team's keys in turn", async () => {
    const vk = await vaultKey({ key_group: 'team-b', fallback_to_shared: true });
    stub.clear();
    for (let i = 0; i < 4; i++) await ask(vk.token);
    const seen = keysSeen();
    expect(new Set(seen)).toEqual(new Set([`Bearer ${TEAM_B1}`, `Bearer ${TEAM_B2}`]));
    expect(seen[0]).not.toBe(seen[1]);
  });

  it("falls back to the shared keys when the team's keys answer insufficient_quota, and the audit row names the key used", async () => {
    const vk = await vaultKey({ key_group: 'team-b', fallback_to_shared: true });
    const strict = await vaultKey({ key_group: 'team-b' });
    stub.fail(TEAM_B1, { kind: 'status', status: 429, code: 'insufficient_quota', retryAfterSeconds: 60 });
    stub.fail(TEAM_B2, { kind: 'status', status: 429, code: 'insufficient_quota', retryAfterSeconds: 60 });
    try {
      stub.clear();
      const completion = await ask(vk.token);
      expect(completion.choices[0].message.content).toBe('meow');
      expect(keysSeen().at(-1)).toBe(`Bearer ${SHARED}`);
      const rows = await eventually(
        // the row comes with the call's outcome
        () => fx.query<{ provider_key_id: string; status: number }>('SELECT provider_key_id, status FROM audit_log WHERE vault_key_id = $1 AND status <> 0', [vk.id]).then((r) => r.length > 0 && r),
        'the audit row',
      );
      expect(rows).toEqual([{ provider_key_id: keyIds[SHARED], status: 200 }]);

      // both team keys now rest: the next call goes straight to the shared key
      stub.clear();
      await ask(vk.token);
      expect(keysSeen()).toEqual([`Bearer ${SHARED}`]);

      // without fallback_to_shared the team's quota error reaches the caller, and no shared key is used
      stub.clear();
      const err = await ask(strict.token).then(() => null, (e: unknown) => e);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
      expect(keysSeen().every((k) => k !== `Bearer ${SHARED}`)).toBe(true);
    } finally {
      stub.clearFailures();
    }
  });

  it('refuses a key_group the profile does not hold (422 unknown_key_group)', async () => {
    const res = await issue({ key_group: 'team-z' });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'unknown_key_group', param: 'key_group' });
    const lonely = await issue({ fallback_to_shared: true });
    expect(lonely.status).toBe(400);
  });
});
