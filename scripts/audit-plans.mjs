// Measures the audit queries on a scratch database of realistic size (not part of the tests).
//
//   npm run build && node scripts/audit-plans.mjs [--rows 10000000] [--days 30] [--keep] > /tmp/plans.md
//   node scripts/audit-plans.mjs --reuse            # re-measure the database an earlier --keep run left
//
// Creates `kv_audit_plans` on the server of TEST_DATABASE_URL (default postgres@127.0.0.1:5432),
// applies the migrations before AuditPartitions, fills the (then unpartitioned) audit_log with
// --rows rows over the last --days days across 50 tenants (one tenant with half of them, one with
// a quarter, 48 small ones), then applies AuditPartitions and times it: the conversion of a
// table of that size into day partitions. Then prints, as Markdown, the EXPLAIN (ANALYZE, BUFFERS)
// of GET /audit's query for each filter combination, of GET /audit/{id}, of the export's query
// (and the export read through a cursor as the api reads it), of the proxy's outcome write, of a
// lease reconciliation's lookup, and the time to drop one day's partition. The SQL comes from the
// compiled apps (auditWhere, AUDIT_BY_ID_NEAR, WRITE_OUTCOMES, the key-day lease reconciliation), so the plans
// are those of the real queries. Drops the database at the end unless --keep.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compressPlan } from './plan-compress.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { Client } = require('pg');
const QueryStream = require('pg-query-stream');
const { DataSource } = require('typeorm');
const db = require(join(root, 'dist/apps/api/libs/db/src/index.js'));
const { MIGRATIONS } = require(join(root, 'dist/apps/api/libs/db/src/migrations/index.js'));
const { auditWhere, AUDIT_COLUMNS, AUDIT_BY_ID, AUDIT_BY_ID_NEAR, auditIdWindow } = require(join(root, 'dist/apps/api/apps/api/src/audit/audit-query.js'));
const { WRITE_OUTCOMES } = require(join(root, 'dist/apps/proxy/apps/proxy/src/audit/audit-writer.js'));
const { leaseStatements, KEY_DAY_TABLES } = require(join(root, 'dist/apps/proxy/apps/proxy/src/ledger/lease-statements.js'));
const RECONCILE_LEASES = leaseStatements(KEY_DAY_TABLES).reconcile;

const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const ROWS = arg('--rows', 10_000_000);
const DAYS = arg('--days', 30);
const KEEP = args.includes('--keep');
const NAME = 'kv_audit_plans';
const server = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const url = Object.assign(new URL(server), { pathname: `/${NAME}` }).toString();
const DAY = 86_400_000;
const PARTITIONED_FROM = MIGRATIONS.findIndex((m) => new m().name === 'AuditPartitions1797121000000');
const log = (line) => process.stderr.write(`${line}\n`);
const notes = [];

async function withClient(connectionString, fn) {
  const c = new Client({ connectionString });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

// Row g's tenant: ten_big for half the rows, ten_mid for a quarter, 48 small tenants share the rest.
// Each tenant's rows get keys, runs and conversations from its own sequence number n, so their
// sizes match what a proxy writes: ~200 calls per vault key, 10 per run, 50 per conversation,
// 30% of calls without run or conversation, a lease per 1,000 calls. Statuses: 93% 2xx, 6% 4xx, 1% 5xx.
const FILL = `
WITH g AS (
  SELECT g, CASE WHEN g % 4 IN (0, 2) THEN 'ten_big' WHEN g % 4 = 1 THEN 'ten_mid' ELSE 'ten_small' || lpad((g / 4 % 48)::text, 2, '0') END AS tenant,
         $1::bigint + (g::bigint * $2::bigint / $3::bigint) AS ms, g / 4 AS n, hashint4(g) AS h
    FROM generate_series($4::int, $5::int) g
)
INSERT INTO audit_log (id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
                       error_code, cost_nanos, duration_ms, run_id, conversation_id, created_at, lease_id, reserved_nanos)
SELECT 'aud_' || (SELECT string_agg(substr('0123456789abcdefghjkmnpqrstvwxyz', ((ms >> (5 * (9 - i))) & 31)::int + 1, 1), '' ORDER BY i)
                    FROM generate_series(0, 9) i) || substr(md5(g::text), 1, 16),
       tenant, 'vk_' || tenant || '_' || (n / 200), 'cred_' || tenant, 'ck_' || tenant || '_' || (n % 3),
       'openai', 'POST', '/v1/chat/completions',
       s.status, CASE WHEN s.status = 429 THEN 'daily_cap_exceeded' WHEN s.status = 403 THEN 'endpoint_not_allowed' WHEN s.status = 502 THEN 'upstream_unreachable' END,
       abs(h) % 20000, 200 + abs(h) % 3000,
       CASE WHEN abs(h) % 10 < 7 THEN 'run_' || tenant || '_' || (n / 10) END,
       CASE WHEN abs(h) % 10 < 7 THEN 'conv_' || tenant || '_' || (n / 50) END,
       to_timestamp(ms / 1000.0), 'lease_' || tenant || '_' || (n / 1000), 40000
  FROM g, LATERAL (SELECT CASE WHEN abs(h) % 1000 < 930 THEN 200 WHEN abs(h) % 1000 < 970 THEN 429
                               WHEN abs(h) % 1000 < 985 THEN 403 WHEN abs(h) % 1000 < 990 THEN 401
                               WHEN abs(h) % 1000 < 995 THEN 500 ELSE 502 END AS status) s`;

/** Applies the migrations of `list` (all by default), without the apps' 10 s query timeout. */
async function migrate(list = MIGRATIONS) {
  const options = db.dataSourceOptions({ url, poolSize: 2 });
  const ds = await new DataSource({ ...options, migrations: list, extra: { ...options.extra, query_timeout: undefined } }).initialize();
  try {
    const t = Date.now();
    const applied = await db.runMigrations(ds);
    log(`migrations applied: ${applied.join(', ') || 'none'} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    return { applied, ms: Date.now() - t };
  } finally {
    await ds.destroy();
  }
}

async function prepare() {
  await withClient(server.toString(), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${NAME}`);
  });
  await migrate(MIGRATIONS.slice(0, PARTITIONED_FROM));
  const end = Date.now();
  await withClient(url, async (c) => {
    // The secondary indexes are built once after the fill (faster than row by row), as they were.
    const indexes = (await c.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_log' AND indexname LIKE 'ix_%'`)).rows;
    for (const i of indexes) await c.query(`DROP INDEX ${i.indexname}`);
    const chunk = 500_000;
    for (let from = 1; from <= ROWS; from += chunk) {
      const t = Date.now();
      await c.query(FILL, [end - DAYS * DAY, DAYS * DAY, ROWS, from, Math.min(ROWS, from + chunk - 1)]);
      log(`filled ${Math.min(ROWS, from + chunk - 1)} rows (${Date.now() - t} ms)`);
    }
    const t = Date.now();
    for (const i of indexes) await c.query(i.indexdef);
    log(`old indexes built (${Date.now() - t} ms)`);
    await c.query('VACUUM ANALYZE audit_log');
  });
  const { ms } = await migrate();
  notes.push(`AuditPartitions converted the ${ROWS.toLocaleString('en')}-row table in ${(ms / 1000).toFixed(1)} s (copy into ${DAYS + 1} day partitions, then the primary key and the indexes built on each).`);
  await withClient(url, (c) => c.query('VACUUM ANALYZE audit_log'));
}

/** The filter combinations an operator uses, on the largest tenant (and a few on a small one). */
function cases(sample, end) {
  const iso = (ms) => new Date(ms).toISOString();
  const at = sample.created_at.getTime();
  return [
    ['no filter (first page)', {}],
    ['run_id', { run_id: sample.run_id }],
    ['run_id, second page (starting_after)', { run_id: sample.run_id }, 'ten_big', 'page2'],
    ['vault_key', { vault_key: sample.vault_key_id }],
    ['conversation_id', { conversation_id: sample.conversation_id }],
    ['status=429 (4% of rows)', { status: '429' }],
    ['status=5xx (1%)', { status: '5xx' }],
    ['status=2xx (93%)', { status: '2xx' }],
    ['status=404 (no row has it)', { status: '404' }],
    ['from/to: one day, 20 days ago', { from: iso(end - 21 * DAY), to: iso(end - 20 * DAY) }],
    ['from/to + status=5xx', { from: iso(end - 21 * DAY), to: iso(end - 20 * DAY), status: '5xx' }],
    ['vault_key + status=4xx', { vault_key: sample.vault_key_id, status: '4xx' }],
    ['run_id + conversation_id', { run_id: sample.run_id, conversation_id: sample.conversation_id }],
    ['vault_key + from/to (the hour around the sample)', { vault_key: sample.vault_key_id, from: iso(at - 1_800_000), to: iso(at + 1_800_000) }],
    ['small tenant: no filter', {}, 'ten_small07'],
    ['small tenant: run_id', { run_id: sample.small_run_id }, 'ten_small07'],
    ['small tenant: status=404', { status: '404' }, 'ten_small07'],
  ];
}

async function explain(c, sql, params, runs = 3) {
  let rows;
  // The first runs warm the cache; the plan and times reported are the last run's.
  for (let i = 0; i < runs; i++) rows = (await c.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)).rows;
  const lines = rows.map((r) => r['QUERY PLAN']);
  const time = lines.find((l) => l.startsWith('Execution Time')).replace('Execution Time: ', '');
  const planning = lines.find((l) => l.startsWith('Planning Time'))?.replace('Planning Time: ', '') ?? '';
  // The plan is every line before the Planning/Execution summary, one line for a run of partitions alike.
  const plan = compressPlan(lines.slice(0, lines.findIndex((l) => /^(Planning|Execution)/.test(l))));
  return { time, planning, plan, lines };
}

/** The export as the api reads it: a server-side cursor, 500 rows a round trip. */
async function streamExport(c, sql, params) {
  const t = Date.now();
  let first = null;
  let n = 0;
  await new Promise((resolve, reject) => {
    const s = c.query(new QueryStream(sql, params, { batchSize: 500 }));
    s.on('data', () => {
      if (n++ === 0) first = Date.now() - t;
    });
    s.on('end', resolve);
    s.on('error', reject);
  });
  return { n, first, total: Date.now() - t };
}

async function main() {
  if (args.includes('--reuse')) await migrate();
  else await prepare();
  await withClient(url, async (c) => {
    // as the apps' connections run (connectionStartupOptions, libs/db)
    await c.query('SET jit = off');
    const [{ total, end }] = (await c.query('SELECT count(*)::int AS total, max(created_at) AS end FROM audit_log')).rows;
    const sizes = (await c.query(`SELECT tenant_id, count(*)::int AS n FROM audit_log GROUP BY 1 ORDER BY 2 DESC LIMIT 3`)).rows;
    const [{ parts }] = (await c.query(`SELECT count(*)::int AS parts FROM pg_inherits WHERE inhparent = 'audit_log'::regclass`)).rows;
    // Values from 40% of the way back: their rows are not the newest, as an operator's usually are not.
    const [sample] = (
      await c.query(
        `SELECT id, vault_key_id, run_id, conversation_id, created_at, lease_id FROM audit_log
          WHERE tenant_id = 'ten_big' AND run_id IS NOT NULL ORDER BY id DESC OFFSET $1 LIMIT 1`,
        [Math.floor(sizes[0].n * 0.4 * 0.7)],
      )
    ).rows;
    const [small] = (await c.query(`SELECT run_id FROM audit_log WHERE tenant_id = 'ten_small07' AND run_id IS NOT NULL 
        ORDER BY id DESC OFFSET (SELECT (count(*) * 0.28)::int FROM audit_log WHERE tenant_id = 'ten_small07' AND run_id IS NOT NULL) LIMIT 1`)).rows;
    sample.small_run_id = small.run_id;
    const [{ server_version: version }] = (await c.query('SHOW server_version')).rows;
    const out = [];
    out.push(
      `PostgreSQL ${version}, ${total.toLocaleString('en')} rows over ${DAYS} days in ${parts} partitions (day partitions and the default one); ` +
        `largest tenants: ${sizes.map((s) => `${s.tenant_id} ${s.n.toLocaleString('en')}`).join(', ')}.`,
    );
    out.push(`Sample values (an older row of ten_big): ${JSON.stringify({ ...sample, small_run_id: undefined })}.`, '', ...notes, '');
    out.push('### GET /audit (21 rows a page)', '', '| filters | rows | planning | execution |', '|---|---|---|---|');
    const details = [];
    for (const [name, filters, tenant = 'ten_big', page] of cases(sample, end.getTime())) {
      let after;
      if (page === 'page2') {
        const first = auditWhere(tenant, filters);
        after = (await c.query(`SELECT id FROM audit_log WHERE ${first.where} ORDER BY id DESC LIMIT 5`, first.params)).rows.at(-1)?.id;
      }
      const { where, params } = auditWhere(tenant, filters, after);
      params.push(21);
      const sql = `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE ${where} ORDER BY id DESC LIMIT $${params.length}`;
      const n = (await c.query(sql, params)).rowCount;
      const { time, planning, plan } = await explain(c, sql, params);
      out.push(`| ${name} | ${n} | ${planning} | ${time} |`);
      details.push(`### GET /audit: ${name}`, '```', ...plan, `Planning Time: ${planning}`, `Execution Time: ${time}`, '```', '');
    }

    out.push('', '### GET /audit/{id}, the proxy\'s writes, a lease reconciliation, expiry', '', '| statement | planning | execution |', '|---|---|---|');
    const one = async (name, sql, params, opts = {}) => {
      if (opts.rollback) await c.query('BEGIN');
      if (opts.setup) await opts.setup();
      const { time, planning, plan } = await explain(c, sql, params, opts.runs ?? 3);
      if (opts.rollback) await c.query('ROLLBACK');
      out.push(`| ${name} | ${planning} | ${time} |`);
      details.push(`### ${name}`, '```', ...plan, `Planning Time: ${planning}`, `Execution Time: ${time}`, '```', '');
    };
    await one('GET /audit/{id}: the partitions around its id\'s day', AUDIT_BY_ID_NEAR, ['ten_big', sample.id, ...auditIdWindow(sample.id)]);
    await one('GET /audit/{id}: every partition (fallback when not there)', AUDIT_BY_ID, ['ten_big', sample.id]);
    // 200 outcomes of calls recorded a moment ago, as AuditWriter sends them: their rows inserted, their records deleted
    const at = end.getTime() - 1_000;
    const ids = Array.from({ length: 200 }, (_, i) => `aud_plan${String(i).padStart(6, '0')}`);
    const inFlight = () =>
      c.query(
        `INSERT INTO call_records (id, tenant_id, vault_key_id, credential_id, vendor, method, path, lease_id, reserved_nanos, created_at)
         SELECT id, 'ten_big', 'vk_x', 'cred_x', 'openai', 'POST', '/v1/chat/completions', 'lease_x', 9600, to_timestamp($2 / 1000.0) FROM unnest($1::text[]) AS r(id)`,
        [ids, at],
      );
    const col = (f) => ids.map(f);
    const outcomes = [
      ids, col(() => 'ten_big'), col(() => 'vk_x'), col(() => 'cred_x'), col(() => 'ck_x'), col(() => 'openai'), col(() => 'POST'), col(() => '/v1/chat/completions'),
      col(() => 200), col(() => null), col(() => '1000'), col(() => 250), col(() => null), col(() => null), col(() => 'lease_x'), col(() => '9600'), col(() => ''), col(() => at),
    ];
    await one('proxy: 200 call outcomes (rows inserted, records deleted)', WRITE_OUTCOMES, outcomes, { rollback: true, setup: inFlight, runs: 1 });
    // a dead instance's lease, settled from its calls' rows (lease_id lookup in every partition)
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO spend_reservations (id, tenant_id, vault_key_id, day, instance_id, amount_nanos, expires_at) VALUES ($1, 'ten_big', 'vk_x', $2, 'dead', 1000000, now() - interval '1 minute')`,
      [sample.lease_id, sample.created_at.toISOString().slice(0, 10)],
    );
    await c.query(`INSERT INTO vault_key_spend (vault_key_id, day, tenant_id, spent_nanos, reserved_nanos) VALUES ('vk_x', $1, 'ten_big', 0, 1000000)`, [
      sample.created_at.toISOString().slice(0, 10),
    ]);
    await one('proxy: reconcile one expired lease (its calls by lease_id)', RECONCILE_LEASES, ['none'], { runs: 1 });
    await c.query('ROLLBACK');

    // The export: the same WHERE without LIMIT, read through a cursor.
    out.push('', '### GET /audit/export', '', '| export | rows | database time (EXPLAIN ANALYZE) | through the cursor: first row / all rows |', '|---|---|---|---|');
    for (const [name, filters, tenant = 'ten_big'] of [
      ['ten_big, no filter (every row)', {}],
      ['ten_big, run_id', { run_id: sample.run_id }],
      ['ten_big, status=5xx', { status: '5xx' }],
      ['ten_big, from/to: one day', { from: new Date(end.getTime() - 21 * DAY).toISOString(), to: new Date(end.getTime() - 20 * DAY).toISOString() }],
      ['small tenant, no filter', {}, 'ten_small07'],
    ]) {
      const { where, params } = auditWhere(tenant, filters);
      const sql = `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE ${where} ORDER BY id DESC`;
      const streamed = await streamExport(c, sql, params);
      const { time, plan } = await explain(c, sql, params, 1);
      out.push(`| ${name} | ${streamed.n.toLocaleString('en')} | ${time} | ${streamed.first} ms / ${streamed.total} ms |`);
      details.push(`### export: ${name}`, '```', ...plan, `Execution Time: ${time}`, '```', '');
    }

    // Expiry: one day's partition dropped, as the retention pass does it (rolled back, so --reuse still has it).
    const oldest = (await c.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_log'::regclass AND c.relname ~ '^audit_log_[0-9]{8}$' ORDER BY 1 LIMIT 1`)).rows[0].relname;
    await c.query('BEGIN');
    let t = Date.now();
    const [{ n }] = (await c.query(`SELECT count(*)::int AS n FROM ${oldest}`)).rows;
    const counted = Date.now() - t;
    t = Date.now();
    await c.query(`DROP TABLE ${oldest}`);
    const dropped = Date.now() - t;
    await c.query('ROLLBACK');
    out.push('', `Expiry of one day: counting ${oldest}'s ${n.toLocaleString('en')} rows ${counted} ms, then DROP TABLE ${dropped} ms (the audit table is locked for the drop only).`);
    process.stdout.write([...out, '', '## All plans', '', ...details].join('\n'));
  });
  if (!KEEP) await withClient(server.toString(), (c) => c.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`));
}

main().catch((err) => {
  process.stderr.write(`audit-plans failed: ${err.stack}\n`);
  process.exit(1);
});
