// `npm run bench`: Keyvault's proxy side by side with a bare Node passthrough, in one run.
// Starts a loopback upstream stub, the bare passthrough (../shared/bench/bare-proxy.mjs), and
// Keyvault (api + proxy with full policy: key check, allowlist, cap reservation, audit row) on a
// fresh database; drives both with autocannon at 50 connections and at 1, alternating; measures
// vault-key issuance per second and the time for a revocation to be refused by a second proxy
// instance; checks the cap stayed exact. Writes bench/RESULTS.md. Loopback only. Reports, never asserts.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.KEYVAULT_SHARED_DIR ?? resolve(root, '../shared');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SERVER = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ports = { stub: 19000, bare: 19100, api: 19200, proxy: 19300, proxy2: 19301 };
const children = [];
const log = (s) => process.stdout.write(`[bench] ${s}\n`);

function start(file, args = [], env = {}) {
  const child = spawn(process.execPath, [file, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

async function waitFor(url, ok = (r) => r.status < 500) {
  for (let i = 0; i < 300; i++) {
    try {
      if (ok(await fetch(url))) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${url}`);
}

async function api(method, path, body, token, extra = {}) {
  const res = await fetch(`http://127.0.0.1:${ports.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extra },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function cannon(opts) {
  return new Promise((resolve, reject) => autocannon(opts, (err, r) => (err ? reject(err) : resolve(r))));
}

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Say meow' }] });

async function load(url, connections, headers) {
  const r = await cannon({ url, method: 'POST', connections, duration: SECONDS, headers: { 'content-type': 'application/json', ...headers }, body: CHAT });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx + r.errors + r.timeouts, total: r.requests.total };
}

async function main() {
  for (const f of ['dist/apps/api/apps/api/src/main.js', 'dist/apps/proxy/apps/proxy/src/main.js']) {
    if (!existsSync(join(root, f))) throw new Error(`${f} missing: run npm run build`);
  }
  for (const f of ['bench/upstream-stub.mjs', 'bench/bare-proxy.mjs']) {
    if (!existsSync(join(shared, f))) throw new Error(`${join(shared, f)} missing (set KEYVAULT_SHARED_DIR)`);
  }
  const dbName = `kv_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const u = new URL(SERVER);
  u.pathname = `/${dbName}`;
  const env = {
    DATABASE_URL: u.toString(),
    KEYVAULT_MASTER_KEY: randomBytes(32).toString('base64'),
    KEYVAULT_ADMIN_TOKEN: `bench_${randomBytes(24).toString('hex')}`,
    KEYVAULT_UPSTREAM_OPENAI: `http://127.0.0.1:${ports.stub}`,
    KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true',
    KEYVAULT_FAILED_AUTH_LIMIT: '100000',
    LOG_LEVEL: 'warn',
    DATABASE_POOL_SIZE: '20',
  };
  try {
    start(join(shared, 'bench/upstream-stub.mjs'), [String(ports.stub)]);
    start(join(shared, 'bench/bare-proxy.mjs'), [String(ports.bare), String(ports.stub)]);
    start(join(root, 'dist/apps/api/apps/api/src/main.js'), [], { ...env, API_PORT: String(ports.api) });
    await waitFor(`http://127.0.0.1:${ports.api}/readyz`, (r) => r.ok);
    start(join(root, 'dist/apps/proxy/apps/proxy/src/main.js'), [], { ...env, PROXY_PORT: String(ports.proxy), KEYVAULT_INSTANCE_ID: 'bench-1' });
    start(join(root, 'dist/apps/proxy/apps/proxy/src/main.js'), [], { ...env, PROXY_PORT: String(ports.proxy2), KEYVAULT_INSTANCE_ID: 'bench-2' });
    await waitFor(`http://127.0.0.1:${ports.stub}/__seen`);
    await waitFor(`http://127.0.0.1:${ports.proxy}/readyz`, (r) => r.ok);
    await waitFor(`http://127.0.0.1:${ports.proxy2}/readyz`, (r) => r.ok);

    const A = env.KEYVAULT_ADMIN_TOKEN;
    const tenant = await api('POST', '/tenants', { name: 'Bench' }, A);
    const { api_key: tenantKey } = await api('POST', `/tenants/${tenant.id}/api-keys`, { name: 'bench' }, A);
    await api('POST', '/credentials', { name: 'bench_openai', vendor: 'openai', keys: ['sk-real-bench-key-0001'] }, tenantKey);
    const issue = (cap, label) =>
      api('POST', '/vault/keys', { vendor: 'openai', daily_usd_cap: cap, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '2h', label }, tenantKey);
    const hot = await issue(1_000_000, 'bench-hot');
    const kvHeaders = { authorization: `Bearer ${hot.vault_key}` };

    // Warm-up, then alternate bare / keyvault so drift on a shared machine hits both alike.
    await load(`http://127.0.0.1:${ports.bare}/openai/v1/chat/completions`, 10, {});
    await load(`http://127.0.0.1:${ports.proxy}/openai/v1/chat/completions`, 10, kvHeaders);
    const rows = [];
    for (const connections of [50, 1]) {
      const acc = { bare: [], keyvault: [] };
      for (let round = 0; round < ROUNDS; round++) {
        acc.bare.push(await load(`http://127.0.0.1:${ports.bare}/openai/v1/chat/completions`, connections, {}));
        acc.keyvault.push(await load(`http://127.0.0.1:${ports.proxy}/openai/v1/chat/completions`, connections, kvHeaders));
        log(`c=${connections} round ${round + 1}: bare ${acc.bare.at(-1).rps.toFixed(0)} req/s, keyvault ${acc.keyvault.at(-1).rps.toFixed(0)} req/s`);
      }
      const avg = (xs, k) => xs.reduce((s, x) => s + x[k], 0) / xs.length;
      const sum = (xs, k) => xs.reduce((s, x) => s + x[k], 0);
      rows.push({
        connections,
        bare: { rps: avg(acc.bare, 'rps'), p50: avg(acc.bare, 'p50'), p99: avg(acc.bare, 'p99'), non2xx: sum(acc.bare, 'non2xx') },
        keyvault: { rps: avg(acc.keyvault, 'rps'), p50: avg(acc.keyvault, 'p50'), p99: avg(acc.keyvault, 'p99'), non2xx: sum(acc.keyvault, 'non2xx') },
      });
    }

    // Issuance: POST /vault/keys with a tenant API key, 10 connections.
    const iss = await cannon({
      url: `http://127.0.0.1:${ports.api}/vault/keys`,
      method: 'POST',
      connections: 10,
      duration: SECONDS,
      headers: { authorization: `Bearer ${tenantKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ vendor: 'openai', daily_usd_cap: 5, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '30m', label: 'bench-issue' }),
    });
    const issuance = { rps: iss.requests.average, p50: iss.latency.p50, p99: iss.latency.p99, non2xx: iss.non2xx + iss.errors };

    // Revocation: warm a key on the second instance, revoke through the api, poll until refused.
    const victim = await issue(10, 'bench-revoke');
    const call = (port) =>
      fetch(`http://127.0.0.1:${port}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${victim.vault_key}` }, body: CHAT });
    const warm = await call(ports.proxy2);
    const t0 = performance.now();
    await api('DELETE', `/vault/keys/${victim.id}`, undefined, tenantKey);
    let refusedAfterMs = null;
    while (performance.now() - t0 < 5000) {
      const r = await call(ports.proxy2);
      await r.arrayBuffer();
      if (r.status === 401) {
        refusedAfterMs = performance.now() - t0;
        break;
      }
    }

    // Caps still exact: a $0.01 cap under 50 concurrent calls across both instances.
    const capped = await issue(0.01, 'bench-cap');
    const capRun = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        fetch(`http://127.0.0.1:${i % 2 ? ports.proxy : ports.proxy2}/openai/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${capped.vault_key}` },
          body: CHAT,
        }).then(async (r) => (await r.arrayBuffer(), r.status)),
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    const after = await api('GET', `/vault/keys/${capped.id}`, undefined, tenantKey);

    const now = new Date().toISOString();
    const ratio = (k) => rows[0].keyvault[k] / rows[0].bare[k];
    const lines = [
      '# Benchmark results',
      '',
      `Run ${now} on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}. ${ROUNDS} alternating rounds of ${SECONDS} s per path; POST chat completion (gpt-4o-mini, max_tokens 16) against a loopback stub.`,
      `Reproduce: \`npm run bench\` (BENCH_SECONDS, BENCH_ROUNDS to change).`,
      '',
      '| connections | path | req/s | p50 ms | p99 ms | non-2xx |',
      '|---|---|---|---|---|---|',
      ...rows.flatMap((r) => [
        `| ${r.connections} | bare passthrough | ${r.bare.rps.toFixed(0)} | ${r.bare.p50.toFixed(1)} | ${r.bare.p99.toFixed(1)} | ${r.bare.non2xx} |`,
        `| ${r.connections} | keyvault proxy | ${r.keyvault.rps.toFixed(0)} | ${r.keyvault.p50.toFixed(1)} | ${r.keyvault.p99.toFixed(1)} | ${r.keyvault.non2xx} |`,
      ]),
      '',
      '| measure | value | target |',
      '|---|---|---|',
      `| throughput ratio keyvault/bare at 50 connections | ${ratio('rps').toFixed(2)} | ≥ 0.60 |`,
      `| added p99 at 1 connection | ${(rows[1].keyvault.p99 - rows[1].bare.p99).toFixed(1)} ms | ≤ 3 ms |`,
      `| vault-key issuance (POST /vault/keys, 10 connections) | ${issuance.rps.toFixed(0)} /s (p99 ${issuance.p99} ms, non-2xx ${issuance.non2xx}) | ≥ 1,000 /s |`,
      `| revocation refused by a second proxy instance after | ${refusedAfterMs === null ? 'not within 5 s' : `${refusedAfterMs.toFixed(1)} ms`} (warm call ${warm.status}) | ≤ 1 s |`,
      `| $0.01 cap, 200 concurrent calls over 2 instances | ${capRun.filter((s) => s === 200).length} passed, ${capRun.filter((s) => s === 429).length} refused; spent_today_usd ${after.spent_today_usd} | never above 0.01 |`,
      '',
    ];
    writeFileSync(join(root, 'bench/RESULTS.md'), lines.join('\n'));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}

main().catch((err) => {
  for (const c of children) c.kill('SIGKILL');
  process.stderr.write(`[bench] failed: ${err.message}\n`);
  process.exit(1);
});
