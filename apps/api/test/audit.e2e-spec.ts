import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@keyvault/crypto';
import { queryDb } from '@keyvault/testing';
import { AuditRetentionService } from '../src/audit/audit-retention.service';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { insertAuditRows, type AuditSeed } from './support/audit-rows';

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const MIN = 60_000;

describe('GET /audit', () => {
  let api: ApiHarness;
  let tenant: string;
  let other: string;
  let key: string;
  let otherKey: string;
  /** ids by name, for assertions */
  const ids: Record<string, string> = {};

  const get = (query: string, k = key) => api.http.get(`/audit${query}`).set('Authorization', `Bearer ${k}`);
  const idsOf = (body: { data: { id: string }[] }) => body.data.map((e) => e.id);

  beforeAll(async () => {
    api = await startApi();
    tenant = (await api.admin().post('/tenants').send({ name: 'Audited' }).expect(201)).body.id;
    other = (await api.admin().post('/tenants').send({ name: 'Elsewhere' }).expect(201)).body.id;
    key = (await api.admin().post(`/tenants/${tenant}/api-keys`).send({ name: 'ops', scopes: ['audit:read'] }).expect(201)).body.api_key;
    otherKey = (await api.admin().post(`/tenants/${other}/api-keys`).send({ name: 'ops' }).expect(201)).body.api_key;

    // Oldest first; `at` minutes after T0.
    const seeds: [string, Omit<AuditSeed, 'tenant_id' | 'at'> & { min: number }][] = [
      ['a', { min: 0, vault_key_id: 'vk_a', run_id: 'run_1', conversation_id: 'conv_1', status: 200, cost_nanos: 1234, provider_key_id: 'ck_1', credential_id: 'cred_1' }],
      ['b', { min: 1, vault_key_id: 'vk_a', run_id: 'run_1', conversation_id: 'conv_1', status: 429, error_code: 'daily_cap_exceeded' }],
      ['c', { min: 2, vault_key_id: 'vk_b', run_id: 'run_2', conversation_id: 'conv_1', status: 502, error_code: 'upstream_unreachable' }],
      ['d', { min: 3, vault_key_id: 'vk_b', run_id: 'run_2', status: 201, vendor: 'stripe', path: '/v1/payment_intents', cost_nanos: 500_000_000 }],
      ['e', { min: 4, vault_key_id: 'vk_a', status: 403, error_code: 'endpoint_not_allowed' }],
      ['f', { min: 5, vault_key_id: null, status: 401, error_code: 'invalid_vault_key' }],
      ['g', { min: 6, vault_key_id: 'vk_a', run_id: 'run_3', conversation_id: 'conv_2', status: 500 }],
    ];
    const inserted = await insertAuditRows(
      api.db.url,
      seeds.map(([, s]) => ({ ...s, tenant_id: tenant, at: T0 + s.min * MIN })),
    );
    seeds.forEach(([name], i) => (ids[name] = inserted[i]));
    // Another tenant's rows with the same keys and ids of context: never visible to `tenant`.
    ids.foreign = (await insertAuditRows(api.db.url, [{ tenant_id: other, at: T0 + 2 * MIN, vault_key_id: 'vk_a', run_id: 'run_1', conversation_id: 'conv_1', status: 429 }]))[0];
    // A forged-key row tied to no tenant.
    await insertAuditRows(api.db.url, [{ tenant_id: null as unknown as string, at: T0, status: 401, error_code: 'invalid_vault_key' }]);
  });
  afterAll(async () => api?.close());

  it("lists the tenant's calls newest first with the contract's fields", async () => {
    const { body } = await get('').expect(200);
    expect(body).toMatchObject({ object: 'list', has_more: false });
    expect(idsOf(body)).toEqual(['g', 'f', 'e', 'd', 'c', 'b', 'a'].map((n) => ids[n]));
    expect(body.data.at(-1)).toEqual({
      id: ids.a,
      object: 'audit_entry',
      vault_key_id: 'vk_a',
      vendor: 'openai',
      method: 'POST',
      path: '/v1/chat/completions',
      status: 200,
      error_code: null,
      cost_usd: 0.000001234,
      duration_ms: 100,
      run_id: 'run_1',
      conversation_id: 'conv_1',
      provider_key_id: 'ck_1',
      credential_id: 'cred_1',
      created_at: new Date(T0).toISOString(),
    });
    expect(body.data.find((e: { id: string }) => e.id === ids.d).cost_usd).toBe(0.5);
  });

  it.each([
    ['vault_key=vk_a', ['g', 'e', 'b', 'a']],
    ['vault_key=vk_b', ['d', 'c']],
    ['run_id=run_1', ['b', 'a']],
    ['run_id=run_2', ['d', 'c']],
    ['conversation_id=conv_1', ['c', 'b', 'a']],
    ['status=429', ['b']],
    ['status=2xx', ['d', 'a']],
    ['status=4xx', ['f', 'e', 'b']],
    ['status=5xx', ['g', 'c']],
    ['status=404', []],
    ['vault_key=vk_a&status=4xx', ['e', 'b']],
    ['vault_key=vk_a&status=5xx', ['g']],
    ['run_id=run_2&conversation_id=conv_1', ['c']],
    ['conversation_id=conv_1&status=2xx', ['a']],
    ['vault_key=vk_a&run_id=run_1&conversation_id=conv_1&status=429', ['b']],
    ['vault_key=vk_nobody', []],
  ])('filters by %s', async (query, expected) => {
    const { body } = await get(`?${query}`).expect(200);
    expect(idsOf(body)).toEqual(expected.map((n) => ids[n]));
  });

  it('bounds by time: from is inclusive, to exclusive, to the millisecond', async () => {
    const at = (min: number, ms = 0) => new Date(T0 + min * MIN + ms).toISOString();
    expect(idsOf((await get(`?from=${at(2)}&to=${at(4)}`).expect(200)).body)).toEqual([ids.d, ids.c]);
    expect(idsOf((await get(`?from=${at(2, 1)}&to=${at(4, 1)}`).expect(200)).body)).toEqual([ids.e, ids.d]);
    expect(idsOf((await get(`?from=${at(5)}`).expect(200)).body)).toEqual([ids.g, ids.f]);
    expect(idsOf((await get(`?to=${at(1)}`).expect(200)).body)).toEqual([ids.a]);
    // offsets and dates are understood
    expect(idsOf((await get('?from=2026-11-30T11:05:00%2B01:00').expect(200)).body)).toEqual([ids.g, ids.f]);
    expect(idsOf((await get('?to=2026-11-30').expect(200)).body)).toEqual([]);
    // combined with an index filter
    expect(idsOf((await get(`?vault_key=vk_a&from=${at(1)}&to=${at(6)}`).expect(200)).body)).toEqual([ids.e, ids.b]);
    expect(idsOf((await get(`?run_id=run_2&to=${at(3)}`).expect(200)).body)).toEqual([ids.c]);
  });

  it('pages newest first with limit and starting_after, without gaps or repeats', async () => {
    const seen: string[] = [];
    let after = '';
    for (;;) {
      const { body } = await get(`?limit=2${after ? `&starting_after=${after}` : ''}`).expect(200);
      seen.push(...idsOf(body));
      expect(body.data.length).toBeLessThanOrEqual(2);
      if (!body.has_more) break;
      after = seen.at(-1)!;
    }
    expect(seen).toEqual(['g', 'f', 'e', 'd', 'c', 'b', 'a'].map((n) => ids[n]));
    // paging keeps the filters
    const p1 = (await get('?vault_key=vk_a&limit=3').expect(200)).body;
    expect(p1.has_more).toBe(true);
    const p2 = (await get(`?vault_key=vk_a&limit=3&starting_after=${p1.data[2].id}`).expect(200)).body;
    expect(idsOf(p2)).toEqual([ids.a]);
    expect(p2.has_more).toBe(false);
  });

  it.each([
    ['status=99x', 'status'],
    ['status=600', 'status'],
    ['status=abc', 'status'],
    ['from=yesterday', 'from'],
    ['from=2026-11-30T10:00:00', 'from'],
    ['to=2026-02-30', 'to'],
    [`from=2026-11-30T10:00:00Z&to=2026-11-30T10:00:00Z`, 'to'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['starting_after=nope', 'starting_after'],
    ['vendor=openai', 'vendor'],
  ])('refuses %s (400, param %s)', async (query, param) => {
    const { body } = await get(`?${query}`).expect(400);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param });
    expect(['parameter_invalid', 'parameter_unknown']).toContain(body.error.code);
  });

  it("never shows another tenant's rows", async () => {
    const theirs = (await get('', otherKey).expect(200)).body;
    expect(idsOf(theirs)).toEqual([ids.foreign]);
    expect(idsOf((await get('?vault_key=vk_b', otherKey).expect(200)).body)).toEqual([]);
    expect(idsOf((await get('?run_id=run_1').expect(200)).body)).not.toContain(ids.foreign);
    // the admin sees a tenant's rows only by naming it
    const asAdmin = await api.admin().get('/audit').set('Keyvault-Tenant', other).expect(200);
    expect(idsOf(asAdmin.body)).toEqual([ids.foreign]);
    const noTenant = await api.admin().get('/audit').expect(400);
    expect(noTenant.body.error.code).toBe('tenant_required');
  });

  it('needs the audit:read scope', async () => {
    const { body: issuer } = await api.admin().post(`/tenants/${tenant}/api-keys`).send({ name: 'issuer', scopes: ['vault_keys:issue'] }).expect(201);
    for (const path of ['/audit', '/audit/export']) {
      const res = await api.http.get(path).set('Authorization', `Bearer ${issuer.api_key}`).expect(403);
      expect(res.body.error).toMatchObject({ type: 'permission_error', code: 'insufficient_scope' });
    }
    await api.http.get('/audit').expect(401);
  });
});

describe('retention', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ KEYVAULT_AUDIT_RETENTION_DAYS: '30' });
  });
  afterAll(async () => api?.close());

  it('prunes audit rows of days past the horizon and finished deliveries older than it, keeps the rest', async () => {
    const tenant = (await api.admin().post('/tenants').send({ name: 'Old' }).expect(201)).body.id;
    const now = Date.now();
    const day = 86_400_000;
    const [old1, old2, fresh] = await insertAuditRows(api.db.url, [
      { tenant_id: tenant, at: now - 40 * day },
      // a whole day before the horizon's day (rows go by whole UTC days: audit-retention.service.ts)
      { tenant_id: tenant, at: now - 31 * day },
      { tenant_id: tenant, at: now - 29 * day },
    ]);
    // webhook outbox rows: an old delivered event, an old event still owed, a fresh delivered one
    const outbox = async (ageDays: number, status: string) => {
      const at = now - ageDays * day;
      const evt = newId('webhookEvent', at);
      await queryDb(api.db.url, `INSERT INTO webhook_events (id, tenant_id, type, payload, created_at) VALUES ($1, $2, 'vault_key.revoked', '{}', $3)`, [evt, tenant, new Date(at)]);
      const whd = newId('webhookDelivery', at);
      await queryDb(
        api.db.url,
        `INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_id, status, next_attempt_at, created_at) VALUES ($1, $2, 'whk_x', $3, $4, now() + interval '1 day', $5)`,
        [whd, tenant, evt, status, new Date(at)],
      );
      return { evt, whd };
    };
    const oldDone = await outbox(45, 'succeeded');
    const oldPending = await outbox(45, 'pending');
    const freshDone = await outbox(2, 'succeeded');

    const retention = api.app.get(AuditRetentionService);
    const result = await retention.pruneOnce();
    // no partition was there for those days: the rows waited in the default partition
    expect(result).toEqual({ audit: 2, partitions: [], deliveries: 1, events: 1 });

    const left = (await queryDb<{ id: string }>(api.db.url, 'SELECT id FROM audit_log ORDER BY id')).map((r) => r.id);
    expect(left).toEqual([fresh]);
    expect(left).not.toContain(old1);
    expect(left).not.toContain(old2);
    const events = (await queryDb<{ id: string }>(api.db.url, 'SELECT id FROM webhook_events ORDER BY id')).map((r) => r.id);
    expect(events.sort()).toEqual([oldPending.evt, freshDone.evt].sort());
    const deliveries = (await queryDb<{ id: string }>(api.db.url, 'SELECT id FROM webhook_deliveries')).map((r) => r.id);
    expect(deliveries.sort()).toEqual([oldPending.whd, freshDone.whd].sort());
    expect(events).not.toContain(oldDone.evt);
  });

  it('deletes what the default partition caught of expired days in batches until nothing old is left', async () => {
    const tenant = (await api.admin().post('/tenants').send({ name: 'Many' }).expect(201)).body.id;
    const old = Date.now() - 60 * 86_400_000;
    await insertAuditRows(api.db.url, Array.from({ length: 7000 }, (_, i) => ({ tenant_id: tenant, at: old + i })));
    const result = await api.app.get(AuditRetentionService).pruneOnce();
    expect(result?.audit).toBe(7000);
    expect(await queryDb(api.db.url, 'SELECT 1 FROM audit_log WHERE tenant_id = $1', [tenant])).toHaveLength(0);
  });

  it("removes a call's record left over beside its audit row (an INSERT that committed after its call was refused), and no record of a call in flight", async () => {
    const tenant = (await api.admin().post('/tenants').send({ name: 'Leftover' }).expect(201)).body.id;
    const hourAgo = Date.now() - 2 * 3_600_000;
    const [answered] = await insertAuditRows(api.db.url, [{ tenant_id: tenant, at: hourAgo }]);
    const record = (id: string, at: number) =>
      queryDb(
        api.db.url,
        `INSERT INTO call_records (id, tenant_id, vault_key_id, vendor, method, path, reserved_nanos, created_at)
         VALUES ($1, $2, 'vk_x', 'openai', 'POST', '/v1/chat/completions', 9600, $3)`,
        [id, tenant, new Date(at)],
      );
    const [{ created_at }] = await queryDb<{ created_at: Date }>(api.db.url, 'SELECT created_at FROM audit_log WHERE id = $1', [answered]);
    await record(answered, created_at.getTime());
    // a long stream still in flight: no audit row yet, however old its record
    const inFlight = newId('audit', hourAgo);
    await record(inFlight, hourAgo);
    await api.app.get(AuditRetentionService).pruneOnce();
    const left = (await queryDb<{ id: string }>(api.db.url, 'SELECT id FROM call_records WHERE tenant_id = $1', [tenant])).map((r) => r.id);
    expect(left).toEqual([inFlight]);
  });

  it('skips a pass while another instance holds the lock', async () => {
    const holder = new Client({ connectionString: api.db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(4815162343)');
      expect(await api.app.get(AuditRetentionService).pruneOnce()).toBeNull();
      await holder.query('SELECT pg_advisory_unlock(4815162343)');
      expect(await api.app.get(AuditRetentionService).pruneOnce()).not.toBeNull();
    } finally {
      await holder.end();
    }
  });

  it('runs by itself on its interval', async () => {
    const fast = await startApi({ KEYVAULT_AUDIT_RETENTION_DAYS: '1', KEYVAULT_AUDIT_PRUNE_INTERVAL_MS: '50' });
    try {
      const tenant = (await fast.admin().post('/tenants').send({ name: 'Auto' }).expect(201)).body.id;
      const [, fresh] = await insertAuditRows(fast.db.url, [
        { tenant_id: tenant, at: Date.now() - 3 * 86_400_000 },
        { tenant_id: tenant, at: Date.now() },
      ]);
      await expect.poll(async () => (await queryDb<{ id: string }>(fast.db.url, 'SELECT id FROM audit_log')).map((r) => r.id), { timeout: 10_000 }).toEqual([fresh]);
    } finally {
      await fast.close();
    }
  });
});
