import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PriceBook } from '@keyvault/policy';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { spawnProxy, type ProxyProcess } from '../../../test/harness/proxy-process';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'Say meow' }] });
const prices = PriceBook.load();
const CHAT_WORST = Number(prices.tokenCost(prices.model('openai', 'gpt-4o-mini')!, Buffer.byteLength(CHAT), 100));
/** 12 prompt + 3 completion tokens (the stub's usage) at $0.15 / $0.60 per million: 3.6 µ$ */
const CHAT_COST = 3_600;

/**
 * The rule these tests hold the ledger to (SpendLedger): a lease of a dead instance is settled
 * from its calls' records. So killing an instance moves nothing (its leases stay in
 * reserved_nanos), and reconciling books what its calls cost (finished ones at their cost, those
 * in flight at their worst case, their rows marked `interrupted`) and gives the unused room back:
 * the key's spend equals the sum of its audit rows, no forwarded call goes uncounted, and the
 * cap still holds afterwards.
 */
describe('budget leases when the proxy process dies or stops', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let tenantId: string;
  let credentialId: string;
  let env: Record<string, string>;
  const running = new Set<ProxyProcess>();

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    tenantId = await fx.tenant('Crashes');
    credentialId = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-crashes'] })).id;
    env = { DATABASE_URL: api.db.url, KEYVAULT_MASTER_KEY: api.config.KEYVAULT_MASTER_KEY, KEYVAULT_UPSTREAM_OPENAI: stub.url };
  });
  afterAll(async () => {
    stub?.hold(null);
    stub?.release();
    for (const p of running) await p.stop('SIGKILL');
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const spawn = async (extra: Record<string, string>) => {
    const p = await spawnProxy({ ...env, ...extra });
    running.add(p);
    void p.exited.then(() => running.delete(p));
    return p;
  };
  const openaiKey = (capUsd: number) => fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd, allowed: ['POST /v1/chat/completions'] });
  /** a chat's status, or 0 when the connection broke */
  const chat = (port: number, token: string) =>
    rawRequest(port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, CHAT).then(
      (r) => r.status,
      () => 0,
    );
  const inWaves = async (waves: number, size: number, call: () => Promise<number>) => {
    const statuses: number[] = [];
    for (let w = 0; w < waves; w++) statuses.push(...(await Promise.all(Array.from({ length: size }, call))));
    return statuses;
  };
  const spend = async (vaultKeyId: string) => {
    const [s] = await fx.query<{ spent: string; reserved: string }>('SELECT spent_nanos AS spent, reserved_nanos AS reserved FROM vault_key_spend WHERE vault_key_id = $1', [vaultKeyId]);
    return { spent: Number(s.spent), reserved: Number(s.reserved) };
  };
  const leasesOf = async (instanceId: string) =>
    Number((await fx.query<{ sum: string | null }>('SELECT sum(amount_nanos) AS sum FROM spend_reservations WHERE instance_id = $1', [instanceId]))[0].sum ?? 0);
  const leaseRows = async (vaultKeyId: string) => (await fx.query('SELECT 1 FROM spend_reservations WHERE vault_key_id = $1', [vaultKeyId])).length;
  const audited = async (vaultKeyId: string) =>
    Number((await fx.query<{ sum: string | null }>('SELECT sum(cost_nanos) AS sum FROM audit_log WHERE vault_key_id = $1', [vaultKeyId]))[0].sum ?? 0);
  const interrupted = async (vaultKeyId: string) =>
    fx.query<{ cost_nanos: string }>(`SELECT cost_nanos FROM audit_log WHERE vault_key_id = $1 AND error_code = 'interrupted'`, [vaultKeyId]);

  /** Completed calls, then calls held in flight at the upstream, then SIGKILL. */
  async function killUnderLoad(p: ProxyProcess, token: string): Promise<{ completed: number; inFlight: number }> {
    const completed = (await inWaves(4, 5, () => chat(p.port, token))).filter((s) => s === 200).length;
    stub.clear();
    stub.hold('headers');
    const held = Array.from({ length: 6 }, () => chat(p.port, token));
    await eventually(async () => stub.seen().length === 6, 'the held calls to reach the upstream');
    await p.stop('SIGKILL');
    stub.hold(null);
    stub.release();
    expect(await Promise.all(held)).toEqual(Array(6).fill(0));
    return { completed, inFlight: 6 };
  }

  it('a clean SIGTERM books every call and gives every lease back: spent equals the audited cost', async () => {
    const vk = await openaiKey(1);
    const p = await spawn({ KEYVAULT_INSTANCE_ID: 'term-1' });
    const before = await inWaves(3, 10, () => chat(p.port, vk.token));
    // stop while a wave is in flight: those calls finish and are booked too
    stub.clear();
    const last = Array.from({ length: 10 }, () => chat(p.port, vk.token));
    await eventually(async () => stub.seen().length > 0, 'traffic');
    expect(await p.stop('SIGTERM')).toBe(0);
    const statuses = [...before, ...(await Promise.all(last))];
    const passed = statuses.filter((s) => s === 200).length;
    expect(passed).toBeGreaterThanOrEqual(30);

    expect(await leasesOf('term-1')).toBe(0);
    expect(await leaseRows(vk.id)).toBe(0);
    const s = await spend(vk.id);
    expect(s.reserved).toBe(0);
    expect(s.spent).toBe(await audited(vk.id));
    expect(s.spent).toBe(passed * CHAT_COST);
  });

  it('SIGKILL under load leaves its leases counted; a restart under the same id settles them from the calls, once', async () => {
    const capNanos = 20 * CHAT_WORST;
    const vk = await openaiKey(capNanos / 1e9);
    const first = await spawn({ KEYVAULT_INSTANCE_ID: 'crash-1' });
    const { completed, inFlight } = await killUnderLoad(first, vk.token);

    // nothing was freed by the crash: what the dead instance held is still reserved
    const dead = await spend(vk.id);
    const held = await leasesOf('crash-1');
    expect(dead.reserved).toBe(held);
    // and no forwarded call is uncounted: finished ones at their cost, those in flight at their worst case
    expect(dead.spent + dead.reserved).toBeGreaterThanOrEqual(completed * CHAT_COST + inFlight * CHAT_WORST);

    const second = await spawn({ KEYVAULT_INSTANCE_ID: 'crash-1' });
    // reconciled before it served anything, from the calls' rows, exactly once: the calls in
    // flight at their worst case (interrupted), the finished ones at their cost, no unused room
    // (a finished call whose outcome row was not yet written when the process died counts at its
    // worst case too: its row says interrupted, and the spend says the same)
    const reconciled = await spend(vk.id);
    const cut = (await interrupted(vk.id)).length - inFlight;
    expect(cut).toBeGreaterThanOrEqual(0);
    expect(reconciled).toEqual({ spent: (completed - cut) * CHAT_COST + (inFlight + cut) * CHAT_WORST, reserved: 0 });
    expect(reconciled.spent).toBe(await audited(vk.id));
    expect(await interrupted(vk.id)).toEqual(Array(inFlight + cut).fill({ cost_nanos: String(CHAT_WORST) }));
    expect(reconciled.spent).toBeLessThan(dead.spent + held);
    expect(await leasesOf('crash-1')).toBe(0);

    // the cap still holds after the crash
    const after = await inWaves(3, 20, () => chat(second.port, vk.token));
    const passed = after.filter((s) => s === 200).length;
    expect(after.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(await second.stop('SIGTERM')).toBe(0);
    const final = await spend(vk.id);
    expect(final).toEqual({ spent: reconciled.spent + passed * CHAT_COST, reserved: 0 });
    expect(final.spent).toBe(await audited(vk.id));
    expect(final.spent).toBeLessThanOrEqual(capNanos);
  });

  it('a lease left by a killed instance is reconciled by another instance once it expired', async () => {
    const vk = await openaiKey(1);
    const survivor = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url, KEYVAULT_LEASE_TTL_MS: '1000' });
    try {
      const victim = await spawn({ KEYVAULT_INSTANCE_ID: 'crash-2', KEYVAULT_LEASE_TTL_MS: '1000' });
      const { completed, inFlight } = await killUnderLoad(victim, vk.token);
      const dead = await spend(vk.id);
      expect(dead.reserved).toBeGreaterThan(0);
      // the survivor looks for expired leases every half TTL
      await eventually(async () => (await leaseRows(vk.id)) === 0, 'the dead lease to be reconciled', 15_000);
      const cut = (await interrupted(vk.id)).length - inFlight;
      expect(cut).toBeGreaterThanOrEqual(0);
      const expected = (completed - cut) * CHAT_COST + (inFlight + cut) * CHAT_WORST;
      expect(await spend(vk.id)).toEqual({ spent: expected, reserved: 0 });
      expect(await audited(vk.id)).toBe(expected);
    } finally {
      await survivor.close();
    }
  });

  it('settles the budgets above the key (lifetime, profile, tenant) from the same calls: every level books what the key books', async () => {
    const tenant = await fx.tenant('Crash budgets');
    const cred = (await fx.credential(tenant, { vendor: 'openai', keys: ['sk-real-crash-budgets'] })).id;
    await api.admin().patch(`/credentials/${cred}`).set('Keyvault-Tenant', tenant).send({ daily_usd_cap: 1, monthly_usd_cap: 2 }).expect(200);
    await api.admin().patch(`/tenants/${tenant}`).send({ monthly_usd_cap: 3 }).expect(200);
    const vk = await fx.vaultKey(tenant, { vendor: 'openai', credentialId: cred, capUsd: 1, allowed: ['POST /v1/chat/completions'], extra: { total_usd_cap: 1 } });
    const first = await spawn({ KEYVAULT_INSTANCE_ID: 'crash-budgets' });
    await killUnderLoad(first, vk.token);
    const heldAbove = Number((await fx.query<{ sum: string | null }>(`SELECT sum(amount_nanos) AS sum FROM budget_reservations WHERE instance_id = 'crash-budgets'`))[0].sum ?? 0);
    expect(heldAbove).toBeGreaterThan(0);

    const second = await spawn({ KEYVAULT_INSTANCE_ID: 'crash-budgets' });
    try {
      const day = await spend(vk.id);
      expect(day.reserved).toBe(0);
      expect(day.spent).toBe(await audited(vk.id));
      const levels = await fx.query<{ subject_id: string; period: string; spent: string; reserved: string }>(
        `SELECT subject_id, period, spent_nanos::text AS spent, reserved_nanos::text AS reserved FROM budget_spend WHERE subject_id = ANY($1) ORDER BY subject_id, period`,
        [[vk.id, cred, tenant]],
      );
      // the key's life, the profile's day and month, the tenant's month: each books what the key's day books
      expect(levels).toHaveLength(4);
      for (const l of levels) expect({ ...l, spent: Number(l.spent), reserved: Number(l.reserved) }).toMatchObject({ spent: day.spent, reserved: 0 });
      expect((await fx.query(`SELECT 1 FROM budget_reservations WHERE instance_id = 'crash-budgets'`)).length).toBe(0);
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
  });
});
