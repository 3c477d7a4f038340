import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDb } from '@keyvault/testing';
import { AuditRetentionService } from '../src/audit/audit-retention.service';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { insertAuditRows } from './support/audit-rows';

const DAY = 86_400_000;
const MIN = 60_000;
/** Days back from now that hold rows; with 30 days' retention the first three are past it. */
const AGES = [40, 35, 31, 29, 10, 1, 0];
const PER_DAY = 3;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const partitionOf = (ms: number) => `audit_log_${dayOf(ms).replaceAll('-', '')}`;

describe('audit partitions', () => {
  let api: ApiHarness;
  let key: string;
  let now: number;
  /** every row's id, newest first, and the day it was written */
  let rows: { id: string; age: number; at: number }[];

  const partitions = async () =>
    (
      await queryDb<{ name: string }>(
        api.db.url,
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_log'::regclass ORDER BY 1`,
      )
    ).map((r) => r.name);
  const exportAll = async () => {
    const res = await api.http
      .get('/audit/export?format=jsonl')
      .set('Authorization', `Bearer ${key}`)
      .buffer(true)
      .parse((r, cb) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (text += c));
        r.on('end', () => cb(null, text));
      })
      .expect(200);
    return (res.body as string).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string });
  };

  beforeAll(async () => {
    api = await startApi({ KEYVAULT_AUDIT_RETENTION_DAYS: '30' });
    const tenant = (await api.admin().post('/tenants').send({ name: 'Partitioned' }).expect(201)).body.id;
    key = (await api.admin().post(`/tenants/${tenant}/api-keys`).send({ name: 'ops', scopes: ['audit:read'] }).expect(201)).body.api_key;
    now = Date.now();
    const seeds = AGES.flatMap((age) => Array.from({ length: PER_DAY }, (_, j) => ({ age, at: now - age * DAY - (j + 1) * MIN })));
    const ids = await insertAuditRows(api.db.url, seeds.map((s) => ({ tenant_id: tenant, at: s.at, run_id: 'run_spread' })));
    rows = seeds.map((s, i) => ({ ...s, id: ids[i] })).sort((a, b) => (a.id < b.id ? 1 : -1));
  });
  afterAll(async () => api?.close());

  it('keeps partitions ready ahead and gives every day the default partition caught a partition of its own', async () => {
    const before = await partitions();
    for (let i = 0; i <= 7; i++) expect(before).toContain(partitionOf(now + i * DAY));
    expect(before).toContain('audit_log_default');

    // a pass as if it ran 20 days ago: nothing is past retention yet, the stray days get partitions
    const result = await api.app.get(AuditRetentionService).pruneOnce(now - 20 * DAY);
    expect(result).toMatchObject({ audit: 0, partitions: [] });
    const after = await partitions();
    for (const age of AGES) expect(after).toContain(partitionOf(now - age * DAY));
    expect(await queryDb(api.db.url, 'SELECT 1 FROM audit_log_default')).toHaveLength(0);
    const placed = await queryDb<{ part: string; n: number }>(api.db.url, 'SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM audit_log GROUP BY 1');
    expect(placed).toHaveLength(AGES.length);
    for (const { part, n } of placed) {
      expect(n).toBe(PER_DAY);
      expect(AGES.map((age) => partitionOf(now - age * DAY))).toContain(part);
    }
  });

  it("gives each partition the audit table's grants and row-level security policies for the proxy and tenant roles", async () => {
    const part = partitionOf(now - 35 * DAY);
    const [rls] = await queryDb<{ on: boolean }>(api.db.url, 'SELECT relrowsecurity AS on FROM pg_class WHERE oid = $1::regclass', [part]);
    expect(rls.on).toBe(true);
    const policies = async (table: string) =>
      queryDb<{ policyname: string; roles: string; qual: string; with_check: string }>(
        api.db.url,
        `SELECT policyname, roles::text AS roles, qual, with_check FROM pg_policies
          WHERE tablename = $1 AND policyname IN ('proxy_access', 'tenant_isolation') ORDER BY policyname`,
        [table],
      );
    const parent = await policies('audit_log');
    expect(parent.map((p) => p.policyname)).toEqual(['proxy_access', 'tenant_isolation']);
    expect(await policies(part)).toEqual(parent);
    expect(await policies('audit_log_default')).toEqual(parent);
    const grants = async (table: string) =>
      (
        await queryDb<{ g: string }>(
          api.db.url,
          `SELECT grantee || ':' || string_agg(privilege_type, ',' ORDER BY privilege_type) AS g FROM information_schema.role_table_grants
            WHERE table_name = $1 AND grantee IN ('keyvault_tenant', 'keyvault_proxy') GROUP BY grantee ORDER BY grantee`,
          [table],
        )
      ).map((r) => r.g);
    expect(await grants('audit_log')).toEqual(['keyvault_proxy:INSERT,SELECT', 'keyvault_tenant:DELETE,INSERT,SELECT,UPDATE']);
    expect(await grants(part)).toEqual(await grants('audit_log'));
    // the api's own roles reach partitions through the parent only (ApiRoleForcedRowSecurity)
    for (const table of [part, 'audit_log_default']) {
      const [direct] = await queryDb<{ n: number }>(
        api.db.url,
        `SELECT count(*)::int AS n FROM information_schema.role_table_grants WHERE table_name = $1 AND grantee IN ('keyvault_api', 'keyvault_worker')`,
        [table],
      );
      expect(direct.n).toBe(0);
    }
  });

  it('drops the partitions of days past retention whole; the export of the rest is complete and newest first', async () => {
    expect((await exportAll()).map((r) => r.id)).toEqual(rows.map((r) => r.id));

    const result = await api.app.get(AuditRetentionService).pruneOnce(now);
    const expired = [40, 35, 31];
    expect(result?.partitions).toEqual(expired.map((age) => ({ name: partitionOf(now - age * DAY), day: dayOf(now - age * DAY), rows: PER_DAY })));
    expect(result?.audit).toBe(expired.length * PER_DAY);
    const left = await partitions();
    for (const age of expired) {
      expect(left).not.toContain(partitionOf(now - age * DAY));
      const [{ gone }] = await queryDb<{ gone: boolean }>(api.db.url, 'SELECT to_regclass($1) IS NULL AS gone', [partitionOf(now - age * DAY)]);
      expect(gone).toBe(true);
    }
    const metrics = (await api.http.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^keyvault_audit_partitions_dropped_total 3$/m);
    expect(metrics).toMatch(/^keyvault_audit_rows_expired_total 9$/m);

    const kept = rows.filter((r) => !expired.includes(r.age));
    expect(kept).toHaveLength((AGES.length - expired.length) * PER_DAY);
    const exported = await exportAll();
    expect(exported).toHaveLength(kept.length);
    expect(exported.map((r) => r.id)).toEqual(kept.map((r) => r.id));

    // paging by run_id walks the same rows across the partitions, in the same order
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const q = `/audit?run_id=run_spread&limit=5${after ? `&starting_after=${after}` : ''}`;
      const { body } = await api.http.get(q).set('Authorization', `Bearer ${key}`).expect(200);
      paged.push(...(body.data as { id: string }[]).map((e) => e.id));
      if (!body.has_more) break;
      after = paged[paged.length - 1];
    }
    expect(paged).toEqual(kept.map((r) => r.id));
  });

  it('finds one row by id in its partition, and answers 404 for a row that expired', async () => {
    const keptRow = rows.find((r) => r.age === 29)!;
    const res = await api.http.get(`/audit/${keptRow.id}`).set('Authorization', `Bearer ${key}`).expect(200);
    expect(res.body.id).toBe(keptRow.id);
    const gone = rows.find((r) => r.age === 40)!;
    const miss = await api.http.get(`/audit/${gone.id}`).set('Authorization', `Bearer ${key}`).expect(404);
    expect(miss.body.error.code).toBe('resource_missing');
  });

  it('never fails an insert: a row of a day without a partition lands in the default partition and gets its day with the next pass', async () => {
    const tenant = (await api.admin().post('/tenants').send({ name: 'Far' }).expect(201)).body.id;
    const far = now + 60 * DAY;
    const [id] = await insertAuditRows(api.db.url, [{ tenant_id: tenant, at: far }]);
    const [{ part }] = await queryDb<{ part: string }>(api.db.url, 'SELECT tableoid::regclass::text AS part FROM audit_log WHERE id = $1', [id]);
    expect(part).toBe('audit_log_default');
    await api.app.get(AuditRetentionService).pruneOnce(now);
    const [moved] = await queryDb<{ part: string }>(api.db.url, 'SELECT tableoid::regclass::text AS part FROM audit_log WHERE id = $1', [id]);
    expect(moved.part).toBe(partitionOf(far));
  });
});
