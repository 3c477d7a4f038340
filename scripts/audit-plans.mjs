// Measures the audit queries on a scratch database of realistic size (not part of the tests).
//
//   npm run build && node scripts/audit-plans.mjs [--rows 2000000] [--keep]
//
// Creates `kv_audit_plans` on the server of TEST_DATABASE_URL (default postgres@127.0.0.1:5432),
// applies the migrations, fills audit_log with --rows rows across 50 tenants (one tenant with
// half of them, one with a quarter, 48 small ones) over 90 days, then prints, as Markdown, the
// EXPLAIN (ANALYZE, BUFFERS) of GET /audit's query for each filter combination on the largest
// tenant, and of the export's query. The SQL comes from the compiled api (auditWhere), so the
// plans are those of the real queries. Drops the database at the end unless --keep.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { Client } = require('pg');
const { DataSource } = require('typeorm');
const db = require(join(root, 'dist/apps/api/libs/db/src/index.js'));
const { auditWhere, AUDIT_COLUMNS } = require(join(root, 'dist/apps/api/apps/api/src/audit/audit-query.js'));

const args = process.argv.slice(2);
const ROWS = Number(args[args.indexOf('--rows') + 1] || 0) || 2_000_000;
const KEEP = args.includes('--keep');
const NAME = 'kv_audit_plans';
const server = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const url = Object.assign(new URL(server), { pathname: `/${NAME}` }).toString();
const DAY = 86_400_000;
const END = Date.parse('2026-11-30T12:00:00Z');
const START = END - 90 * DAY;
const log = (line) => process.stderr.write(`${line}\n`);

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
// 30% of calls without run or conversation. Statuses: 93% 2xx, 6% 4xx, 1% 5xx.
const FILL = `
WITH g AS (
  SELECT g, CASE WHEN g % 4 IN (0, 2) THEN 'ten_big' WHEN g % 4 = 1 THEN 'ten_mid' ELSE 'ten_small' || lpad((g / 4 % 48)::text, 2, '0') END AS tenant,
         $1::bigint + (g::bigint * $2::bigint / $3::bigint) AS ms, g / 4 AS n, hashint4(g) AS h
    FROM generate_series($4::int, $5::int) g
)
INSERT INTO audit_log (id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
                       error_code, cost_nanos, duration_ms, run_id, conversation_id, created_at)
SELECT 'aud_' || (SELECT string_agg(substr('0123456789abcdefghjkmnpqrstvwxyz', ((ms >> (5 * (9 - i))) & 31)::int + 1, 1), '' ORDER BY i)
                    FROM generate_series(0, 9) i) || substr(md5(g::text), 1, 16),
       tenant, 'vk_' || tenant || '_' || (n / 200), 'cred_' || tenant, 'ck_' || tenant || '_' || (n % 3),
       'openai', 'POST', '/v1/chat/completions',
       s.status, CASE WHEN s.status = 429 THEN 'daily_cap_exceeded' WHEN s.status = 403 THEN 'endpoint_not_allowed' WHEN s.status = 502 THEN 'upstream_unreachable' END,
       abs(h) % 20000, 200 + abs(h) % 3000,
       CASE WHEN abs(h) % 10 < 7 THEN 'run_' || tenant || '_' || (n / 10) END,
       CASE WHEN abs(h) % 10 < 7 THEN 'conv_' || tenant || '_' || (n / 50) END,
       to_timestamp(ms / 1000.0)
  FROM g, LATERAL (SELECT CASE WHEN abs(h) % 1000 < 930 THEN 200 WHEN abs(h) % 1000 < 970 THEN 429
                               WHEN abs(h) % 1000 < 985 THEN 403 WHEN abs(h) % 1000 < 990 THEN 401
                               WHEN abs(h) % 1000 < 995 THEN 500 ELSE 502 END AS status) s`;

async function migrate() {
  // Without the apps' 10 s client-side query timeout: building an index on millions of rows takes longer.
  const options = db.dataSourceOptions({ url, poolSize: 2 });
  const ds = await new DataSource({ ...options, extra: { ...options.extra, query_timeout: undefined } }).initialize();
  try {
    log(`migrations applied: ${(await db.runMigrations(ds)).join(', ') || 'none'}`);
  } finally {
    await ds.destroy();
  }
}

async function prepare() {
  await withClient(server.toString(), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${NAME}`);
  });
  await migrate();
  await withClient(url, async (c) => {
    const chunk = 250_000;
    for (let from = 1; from <= ROWS; from += chunk) {
      const t = Date.now();
      await c.query(FILL, [START, 90 * DAY, ROWS, from, Math.min(ROWS, from + chunk - 1)]);
      log(`filled ${Math.min(ROWS, from + chunk - 1)} rows (${Date.now() - t} ms)`);
    }
    await c.query('VACUUM ANALYZE audit_log');
  });
}

/** The filter combinations an operator uses, on the largest tenant (and a few on a small one). */
function cases(sample) {
  const iso = (ms) => new Date(ms).toISOString();
  const at = sample.created_at.getTime();
  return [
    ['no filter (first page)', {}],
    ['vault_key', { vault_key: sample.vault_key_id }],
    ['run_id', { run_id: sample.run_id }],
    ['conversation_id', { conversation_id: sample.conversation_id }],
    ['status=429 (4% of rows)', { status: '429' }],
    ['status=5xx (1%)', { status: '5xx' }],
    ['status=2xx (93%)', { status: '2xx' }],
    ['status=404 (no row has it)', { status: '404' }],
    ['from/to: one day, 30 days ago', { from: iso(END - 31 * DAY), to: iso(END - 30 * DAY) }],
    ['from/to + status=5xx', { from: iso(END - 31 * DAY), to: iso(END - 30 * DAY), status: '5xx' }],
    ['vault_key + status=4xx', { vault_key: sample.vault_key_id, status: '4xx' }],
    ['run_id + conversation_id', { run_id: sample.run_id, conversation_id: sample.conversation_id }],
    ['vault_key + from/to (the hour around the sample)', { vault_key: sample.vault_key_id, from: iso(at - 1_800_000), to: iso(at + 1_800_000) }],
    ['conversation_id + status=429', { conversation_id: sample.conversation_id, status: '429' }],
    ['small tenant: no filter', {}, 'ten_small07'],
    ['small tenant: status=5xx', { status: '5xx' }, 'ten_small07'],
    ['small tenant: status=404', { status: '404' }, 'ten_small07'],
  ];
}

async function explain(c, sql, params) {
  let rows;
  // The first run warms the cache; the plan and time reported are the third's.
  for (let i = 0; i < 3; i++) rows = (await c.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)).rows;
  const lines = rows.map((r) => r['QUERY PLAN']);
  const time = lines.find((l) => l.startsWith('Execution Time'));
  // The plan is every line before the Planning/Execution summary.
  const plan = lines.slice(0, lines.findIndex((l) => /^(Planning|Execution)/.test(l)));
  return { time, plan };
}

async function main() {
  // --reuse: the database of an earlier --keep run, with any newer migration (an index) applied.
  if (args.includes('--reuse')) {
    await migrate();
    await withClient(url, (c) => c.query('ANALYZE audit_log'));
  } else await prepare();
  await withClient(url, async (c) => {
    const [{ total }] = (await c.query('SELECT count(*)::int AS total FROM audit_log')).rows;
    const sizes = (await c.query(`SELECT tenant_id, count(*)::int AS n FROM audit_log GROUP BY 1 ORDER BY 2 DESC LIMIT 3`)).rows;
    // Values from 40% of the way back: their rows are not the newest, as an operator's usually are not.
    const [sample] = (
      await c.query(
        `SELECT vault_key_id, run_id, conversation_id, created_at FROM audit_log
          WHERE tenant_id = 'ten_big' AND run_id IS NOT NULL ORDER BY id DESC OFFSET $1 LIMIT 1`,
        [Math.floor(sizes[0].n * 0.4 * 0.7)],
      )
    ).rows;
    const [{ server_version: version }] = (await c.query('SHOW server_version')).rows;
    const out = [];
    out.push(`PostgreSQL ${version}, ${total.toLocaleString('en')} rows; largest tenants: ${sizes.map((s) => `${s.tenant_id} ${s.n.toLocaleString('en')}`).join(', ')}.`);
    out.push(`Sample values (an older key, run and conversation of ten_big): ${JSON.stringify(sample)}.`, '');
    out.push('| filters | rows | execution time |', '|---|---|---|');
    const details = [];
    for (const [name, filters, tenant = 'ten_big'] of cases(sample)) {
      const { where, params } = auditWhere(tenant, filters);
      params.push(21);
      const sql = `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE ${where} ORDER BY id DESC LIMIT $${params.length}`;
      const n = (await c.query(sql, params)).rowCount;
      const { time, plan } = await explain(c, sql, params);
      out.push(`| ${name} | ${n} | ${time.replace('Execution Time: ', '')} |`);
      details.push(`### ${name}`, '```', ...plan, time, '```', '');
    }
    // The export: the same WHERE without LIMIT, read through a cursor.
    for (const [name, filters] of [['export, no filter (ten_big, all rows)', {}], ['export, status=5xx', { status: '5xx' }]]) {
      const { where, params } = auditWhere('ten_big', filters);
      const { time, plan } = await explain(c, `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE ${where} ORDER BY id DESC`, params);
      details.push(`### ${name}`, '```', ...plan, time, '```', '');
    }
    process.stdout.write([...out, '', ...details].join('\n'));
  });
  if (!KEEP) await withClient(server.toString(), (c) => c.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`));
}

main().catch((err) => {
  process.stderr.write(`audit-plans failed: ${err.message}\n`);
  process.exit(1);
});
