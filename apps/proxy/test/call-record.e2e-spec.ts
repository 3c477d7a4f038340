import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PriceBook } from '@keyvault/policy';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'Say meow' }] });
const prices = PriceBook.load();
const CHAT_WORST = prices.tokenCost(prices.model('openai', 'gpt-4o-mini')!, Buffer.byteLength(CHAT), 100);

describe('a durable record of every call before it is forwarded', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let credentialId: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
    tenantId = await fx.tenant('Records');
    credentialId = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-records'] })).id;
  });
  afterAll(async () => {
    stub?.hold(null);
    stub?.release();
    await fx?.query('DROP TRIGGER IF EXISTS refuse_records ON call_records').catch(() => undefined);
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const openaiKey = () => fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd: 1, allowed: ['POST /v1/chat/completions'] });
  const chat = (token: string, runId = 'run-r') =>
    rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-run-id': runId, 'x-conversation-id': 'conv-r' }, CHAT);
  const rows = (vaultKeyId: string) =>
    fx.query<{ id: string; status: number; error_code: string | null; cost_nanos: string; reserved_nanos: string | null; lease_id: string | null; run_id: string; conversation_id: string }>(
      'SELECT id, status, error_code, cost_nanos, reserved_nanos, lease_id, run_id, conversation_id FROM audit_log WHERE vault_key_id = $1 ORDER BY id',
      [vaultKeyId],
    );
  const records = (vaultKeyId: string) =>
    fx.query<{ id: string; reserved_nanos: string; lease_id: string | null; run_id: string; conversation_id: string; created_at: Date }>(
      'SELECT id, reserved_nanos, lease_id, run_id, conversation_id, created_at FROM call_records WHERE vault_key_id = $1 ORDER BY id',
      [vaultKeyId],
    );

  it('has the record (lease, worst case, run and conversation ids) in Postgres while the upstream holds the call, then its audit row in its place', async () => {
    const vk = await openaiKey();
    stub.clear();
    stub.hold('headers');
    const pending = chat(vk.token, 'run-held');
    await eventually(async () => stub.seen().length === 1, 'the call to reach the upstream');
    const [inFlight] = await records(vk.id);
    expect(inFlight).toMatchObject({ reserved_nanos: String(CHAT_WORST), run_id: 'run-held', conversation_id: 'conv-r' });
    expect(inFlight.lease_id).toMatch(/^\w+_/);
    // a call in flight is no audit row yet (GET /audit lists calls that ended)
    expect(await rows(vk.id)).toEqual([]);
    stub.hold(null);
    stub.release();
    expect((await pending).status).toBe(200);
    const [done] = await eventually(async () => {
      const r = await rows(vk.id);
      return r[0]?.status === 200 && r;
    }, 'the outcome');
    // one row per call, under the record's id and start, naming its lease and worst case; the record is gone
    expect(done).toMatchObject({ id: inFlight.id, status: 200, error_code: null, cost_nanos: '3600', lease_id: inFlight.lease_id, reserved_nanos: String(CHAT_WORST) });
    expect(await records(vk.id)).toEqual([]);
    const [{ created_at }] = await fx.query<{ created_at: Date }>('SELECT created_at FROM audit_log WHERE id = $1', [inFlight.id]);
    expect(created_at.getTime()).toBe(inFlight.created_at.getTime());
  });

  it('writes the whole row with its outcome when the record is gone by then (a Postgres crash took back an unflushed commit)', async () => {
    const vk = await openaiKey();
    stub.clear();
    stub.hold('headers');
    const pending = chat(vk.token, 'run-lost');
    await eventually(async () => stub.seen().length === 1, 'the call to reach the upstream');
    const [record] = await records(vk.id);
    await fx.query('DELETE FROM call_records WHERE id = $1', [record.id]);
    stub.hold(null);
    stub.release();
    expect((await pending).status).toBe(200);
    const [row] = await eventually(async () => {
      const r = await rows(vk.id);
      return r[0]?.status === 200 && r;
    }, 'the outcome');
    expect(row).toMatchObject({ id: record.id, status: 200, error_code: null, cost_nanos: '3600', run_id: 'run-lost', conversation_id: 'conv-r' });
    const spend = await eventually(async () => {
      const [s] = await fx.query<{ spent_nanos: string }>('SELECT spent_nanos FROM vault_key_spend WHERE vault_key_id = $1', [vk.id]);
      return s?.spent_nanos === '3600' && s;
    }, 'the call to be booked');
    expect(spend.spent_nanos).toBe('3600');
  });

  it('refuses with 503 vault_unavailable and forwards nothing when the record cannot be written', async () => {
    const vk = await openaiKey();
    expect((await chat(vk.token)).status).toBe(200);
    // Postgres refuses every new record: the rest of the database works
    await fx.query(`CREATE OR REPLACE FUNCTION refuse_records() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no records'; END $$`);
    await fx.query(`CREATE TRIGGER refuse_records BEFORE INSERT ON call_records FOR EACH ROW EXECUTE FUNCTION refuse_records()`);
    stub.clear();
    try {
      const refused = await Promise.all(Array.from({ length: 5 }, () => chat(vk.token)));
      for (const r of refused) {
        expect(r.status).toBe(503);
        expect(JSON.parse(r.body).error).toMatchObject({ type: 'api_error', code: 'vault_unavailable' });
      }
      expect(stub.seen()).toHaveLength(0);
      expect(await proxy.metric('keyvault_proxy_call_record_failures_total')).toBeGreaterThanOrEqual(5);
    } finally {
      await fx.query('DROP TRIGGER refuse_records ON call_records');
    }
    expect((await chat(vk.token)).status).toBe(200);
    // the refusals are audited under the key, and cost nothing
    const all = await eventually(async () => {
      const r = await rows(vk.id);
      return r.length === 7 && r.every((x) => x.status !== 0) && r;
    }, 'the rows of the 7 calls');
    expect(all.filter((r) => r.status === 503 && r.error_code === 'vault_unavailable' && r.cost_nanos === '0')).toHaveLength(5);
    const spend = await eventually(async () => {
      const [s] = await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [vk.id]);
      return s?.reserved_nanos === '0' && s;
    }, 'the leases to be given back');
    expect(spend.spent_nanos).toBe('7200');
  });

  it('writes the records of concurrent calls together: fewer statements than calls', async () => {
    const vk = await openaiKey();
    const before = await proxy.metric('keyvault_proxy_db_queries_total', (l) => l.op === 'call_record');
    const statuses = await Promise.all(Array.from({ length: 60 }, () => chat(vk.token).then((r) => r.status)));
    expect(statuses).toEqual(Array(60).fill(200));
    const statements = (await proxy.metric('keyvault_proxy_db_queries_total', (l) => l.op === 'call_record')) - before;
    expect(statements).toBeGreaterThan(0);
    expect(statements).toBeLessThan(60);
  });

  // last: it leaves today's partition detached (a guard: Postgres routes a missing day to the default partition)
  it("records calls through audit_log when their day's partition is missing (its default partition takes them)", async () => {
    const vk = await openaiKey();
    expect((await chat(vk.token)).status).toBe(200);
    // its outcome written before its partition goes (else the outcome would write its row anew)
    await eventually(async () => (await rows(vk.id))[0]?.status === 200, "the first call's outcome");
    const partitionOf = (ms: number) => `audit_log_${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`;
    // today's (and, should the call cross midnight, tomorrow's) partition goes away, as if the api's maintenance job had not made it
    for (const day of new Set([partitionOf(Date.now()), partitionOf(Date.now() + 60_000)])) {
      await fx.query(`ALTER TABLE audit_log DETACH PARTITION ${day}`);
      await fx.query(`ALTER TABLE ${day} RENAME TO ${day}_away`);
    }
    const statuses = await Promise.all(Array.from({ length: 3 }, () => chat(vk.token).then((r) => r.status)));
    expect(statuses).toEqual([200, 200, 200]);
    expect((await chat(vk.token)).status).toBe(200);
    const recorded = await eventually(async () => {
      const r = await fx.query<{ status: number; cost_nanos: string; partition: string }>(
        'SELECT status, cost_nanos, tableoid::regclass::text AS partition FROM audit_log WHERE vault_key_id = $1',
        [vk.id],
      );
      return r.length === 4 && r.every((x) => x.status === 200) && r;
    }, 'the rows of the 4 calls made without a partition');
    expect(recorded.map((r) => [r.partition, r.cost_nanos])).toEqual(Array(4).fill(['audit_log_default', '3600']));
  });
});
