// `npm run bench`: Keyvault's proxy side by side with a bare Node passthrough, in one run.
// Starts a loopback upstream stub, the bare passthrough (../shared/bench/bare-proxy.mjs), and
// Keyvault (api + two proxy instances, full policy: key check, allowlist, cap through budget
// leases, audit row) on a fresh database; drives both with autocannon at 50 connections and
// with a sequential client at 1 connection, alternating; measures vault-key issuance per
// second, the time for a revocation (or a tenant's disabling) to be refused by the second proxy
// instance under load and the longest window it was still served after the api answered, and whether
// caps stayed exact under concurrency on both instances. A third proxy instance without the
// durable record before forwarding (KEYVAULT_BENCH_NO_CALL_RECORD, bench only) is measured
// beside them, to show what the record costs. Writes bench/RESULTS.md.
// Loopback only. Reports, never asserts.
//
//   BENCH_SECONDS  length of one measurement (default 8)
//   BENCH_ROUNDS   alternating bare/keyvault rounds per connection count (default 2)
//   BENCH_CONNECTIONS  the proxy phase's connection counts (default 50,1)
//   BENCH_RATE     fixed request rate of the 50-connection load (default: none, as fast as answered)
//   BENCH_PG_DETAIL  1: logs each measurement's Postgres CPU by connection (application_name)
//   BENCH_ONLY     comma-separated phases to run: proxy, issuance, revocation, caps, streams,
//                  streams-h2, capture (default all); `npm run bench -- --scenario streams` does the
//                  same from the command line. capture: the client's time to first byte through one
//                  proxy instance with a key capturing nothing and one capturing bodies, alternating
//                  (its section of RESULTS.md is replaced alone when it runs alone)
//   BENCH_STREAMS, BENCH_STREAM_CHUNKS, BENCH_STREAM_GAP_MS, BENCH_STREAM_RAMP_MS  the streams
//                  scenario: N concurrent SSE streams (default 2000) of C chunks (20) G ms apart
//                  (100), started over R ms (1000), through Keyvault (two instances, full policy)
//                  and the uncapped bare passthrough, against the same slow stub (bench/stream-stub.mjs)
//                  streams-h2: the same streams through one Keyvault instance to the stub over TLS,
//                  with HTTP/1.1 and with KEYVAULT_UPSTREAM_HTTP2 (certificate made by openssl)
//   BENCH_API_WORKERS  API_WORKERS of the second api that issuance is measured on (default auto)
//   BENCH_BUDGETS  1: the hot key's profile, tenant and life are capped too (five levels per call, issue 19)
//   BENCH_BASELINE the root of another checkout, built (e.g. a worktree of main): its proxy is measured
//                  beside this one in the proxy phase (same database, same rounds), for before/after
//                  figures from the same machine conditions
//   BENCH_PROFILE  a directory: CPU profiles of proxy 1 and of the proxy without the record (proxy-no-record;
//                  first round at BENCH_PROFILE_CONNECTIONS,
//                  50 or 1, default 50),
//                  of the api (issuance) and of the first streams instance are written there; read them with
//                  `node bench/profile-top.mjs <file> [n] [callee]`, and compare two per call with
//                  `node bench/profile-diff.mjs <a> <calls> <b> <calls>` (calls: the round's req/s × BENCH_SECONDS)
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { driveStreams } from './streams.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.KEYVAULT_SHARED_DIR ?? resolve(root, '../shared');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** BENCH_RATE: the load generator's fixed rate (req/s over all connections) instead of as fast as answered:
 * below every path's limit, CPU per call compares builds with less noise from a shared machine */
const RATE = Number(process.env.BENCH_RATE ?? 0);
/** the proxy phase's connection counts (BENCH_CONNECTIONS=50 measures only the throughput case) */
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '50,1').split(',').map(Number);
const scenarioArg = process.argv.indexOf('--scenario');
const ONLY = new Set(
  (scenarioArg >= 0 ? process.argv[scenarioArg + 1] ?? '' : process.env.BENCH_ONLY ?? 'proxy,issuance,revocation,caps,streams,streams-h2,capture').split(',').map((s) => s.trim()),
);
const STREAMS = {
  n: Number(process.env.BENCH_STREAMS ?? 2000),
  chunks: Number(process.env.BENCH_STREAM_CHUNKS ?? 20),
  gapMs: Number(process.env.BENCH_STREAM_GAP_MS ?? 100),
  rampMs: Number(process.env.BENCH_STREAM_RAMP_MS ?? 1000),
};
const PROFILE_DIR = process.env.BENCH_PROFILE ? resolve(process.env.BENCH_PROFILE) : null;
const BASELINE_ROOT = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : null;
const PROFILE_CONNECTIONS = Number(process.env.BENCH_PROFILE_CONNECTIONS ?? 50);
const SERVER = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ports = { stub: 19000, streamStub: 19010, bare: 19100, streamBare: 19101, api: 19200, apiWorkers: 19201, proxy: 19300, proxy2: 19301, streamProxy: 19302, streamProxy2: 19303, tlsStub: 19011, tlsH1: 19304, tlsH2: 19305, proxyNoRecord: 19306, proxyBaseline: 19307 };
/** The second api measured for issuance runs as a cluster of this many workers (API_WORKERS). */
const API_WORKERS = process.env.BENCH_API_WORKERS ?? 'auto';
const children = [];
// however the bench ends (an unhandled 'error' event when Postgres restarts, a throw), the apps and
// stubs it started go with it: left running they hold the bench's ports and the next run fails
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
const log = (s) => process.stdout.write(`[bench] ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(file, args = [], env = {}, profileAs = null) {
  const profiled = PROFILE_DIR !== null && profileAs !== null;
  const preload = profiled ? ['-r', join(root, 'bench/cpu-profile.cjs')] : [];
  const child = spawn(process.execPath, [...preload, file, ...args], {
    env: { ...process.env, ...env, ...(profiled ? { BENCH_PROFILE_FILE: join(PROFILE_DIR, `${profileAs}.cpuprofile`) } : {}) },
    stdio: ['ignore', 'ignore', 'inherit', ...(profiled ? ['ipc'] : [])],
  });
  child.profiled = profiled;
  child.profileFile = profiled ? join(PROFILE_DIR, `${profileAs}.cpuprofile`) : null;
  child.exited = new Promise((r) => child.once('exit', r));
  children.push(child);
  return child;
}

const rowSlug = (name) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** Runs `work` with the CPU profiler on in `child` (BENCH_PROFILE only); `as` names the profile's file instead of the process's name. */
async function profiled(child, work, as = null) {
  if (!child.profiled) return work();
  child.send('profile:start');
  try {
    return await work();
  } finally {
    const written = new Promise((r) => child.once('message', r));
    child.send('profile:stop');
    await written;
    if (as) renameSync(child.profileFile, join(PROFILE_DIR, `${as}.cpuprofile`));
  }
}

/** The processes a process started (cluster workers). Linux /proc. */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/** CPU time (user + system, ms) of a process and the processes it started. Linux /proc. */
function cpuMs(pid) {
  const own = (p) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks at USER_HZ 100
    } catch {
      return 0;
    }
  };
  return own(pid) + childrenOf(pid).reduce((n, k) => n + own(k), 0);
}

/** Busy CPU time (ms) of the whole machine, all cores. */
function machineMs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  return ((f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 1000) / 100;
}

async function waitFor(url, ok = (r) => r.status < 500) {
  for (let i = 0; i < 300; i++) {
    try {
      if (ok(await fetch(url))) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${url}`);
}

async function api(method, path, body, token) {
  const res = await fetch(`http://127.0.0.1:${ports.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
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
const CHAT_PATH = '/openai/v1/chat/completions';

/** Throughput and latency at many connections (autocannon). */
async function loadAt(port, connections, headers) {
  const r = await cannon({
    url: `http://127.0.0.1:${port}${CHAT_PATH}`,
    method: 'POST',
    connections,
    duration: SECONDS,
    headers: { 'content-type': 'application/json', ...headers },
    body: CHAT,
    ...(RATE ? { overallRate: RATE } : {}),
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx + r.errors + r.timeouts };
}

/**
 * One connection, one call at a time, timed with hrtime: autocannon records whole milliseconds,
 * which at one connection (well under a millisecond a call) would hide a 3 ms budget in rounding.
 */
async function sequential(port, headers) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let non2xx = 0;
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    const t0 = performance.now();
    const status = await new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: CHAT_PATH, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', () => resolve(0));
      req.end(CHAT);
    });
    latencies.push(performance.now() - t0);
    if (status < 200 || status > 299) non2xx++;
  }
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { rps: latencies.length / SECONDS, p50: at(0.5), p99: at(0.99), non2xx };
}

/**
 * The client's time to the first byte of the response body, per call: `concurrency` clients
 * each calling one after another for SECONDS, timed with hrtime from the request's end.
 */
async function firstBytes(port, headers, body, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const times = [];
  let non2xx = 0;
  const until = performance.now() + SECONDS * 1000;
  const one = () =>
    new Promise((resolve) => {
      let t0 = 0;
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: CHAT_PATH, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        let first = null;
        res.on('data', () => (first ??= performance.now() - t0));
        res.on('end', () => resolve({ status: res.statusCode, first }));
      });
      req.on('error', () => resolve({ status: 0, first: null }));
      t0 = performance.now();
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const r = await one();
        if (r.status === 200 && r.first !== null) times.push(r.first);
        else non2xx++;
      }
    }),
  );
  agent.destroy();
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return { n: times.length, rps: (times.length + non2xx) / SECONDS, p50: at(0.5), p99: at(0.99), non2xx };
}

/** The Postgres backends serving the bench's database (the proxies' and the api's connections). */
async function pgBackends(db) {
  const { rows } = await db.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  return rows.map((r) => r.pid);
}

/**
 * Runs one measurement and adds the CPU it cost per call: the path's own process (`procUs`),
 * the bench database's Postgres backends (`pgUs`) and the whole machine (`machineUs`, which
 * other users of a shared machine inflate). CPU per call holds up better than req/s when the
 * machine is busy with others' work.
 */
async function withCpu(proc, db, work) {
  const pids = new Set(await pgBackends(db));
  const pg0 = new Map([...pids].map((p) => [p, cpuMs(p)]));
  const proc0 = cpuMs(proc.pid);
  const machine0 = machineMs();
  const r = await work();
  const calls = Math.max(1, r.rps * SECONDS);
  let pgMs = 0;
  const byApp = new Map();
  const { rows: apps } = await db.query("SELECT pid, coalesce(nullif(application_name, ''), backend_type) AS app FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
  for (const { pid: p, app } of apps) {
    const ms = cpuMs(p) - (pg0.get(p) ?? 0);
    pgMs += ms;
    byApp.set(app, (byApp.get(app) ?? 0) + ms);
  }
  // BENCH_PG_DETAIL: which connections (by application_name) the Postgres CPU went to
  if (process.env.BENCH_PG_DETAIL) log(`pg CPU ms by application: ${[...byApp].map(([a, ms]) => `${a} ${ms.toFixed(0)}`).join(', ')}`);
  return { ...r, procUs: ((cpuMs(proc.pid) - proc0) * 1000) / calls, pgUs: (pgMs * 1000) / calls, machineUs: ((machineMs() - machine0) * 1000) / calls };
}

/** The proxy's own counters (from /metrics), summed per series and label set. */
async function scrape(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map();
  for (const line of text.split('\n')) {
    const m = /^(keyvault_proxy_\w+?)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m) out.set(`${m[1]}${m[2] ? `{${m[2]}}` : ''}`, Number(m[3]));
  }
  return out;
}

const avg = (xs, k) => xs.reduce((s, x) => s + x[k], 0) / xs.length;
const sum = (xs, k) => xs.reduce((s, x) => s + x[k], 0);
const fmt = (x, digits = 1) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(digits));

async function main() {
  for (const f of ['dist/apps/api/apps/api/src/main.js', 'dist/apps/proxy/apps/proxy/src/main.js']) {
    if (!existsSync(join(root, f))) throw new Error(`${f} missing: run npm run build`);
  }
  for (const f of ['bench/upstream-stub.mjs', 'bench/bare-proxy.mjs']) {
    if (!existsSync(join(shared, f))) throw new Error(`${join(shared, f)} missing (set KEYVAULT_SHARED_DIR)`);
  }
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const loadBefore = loadavg();
  const dbName = `kv_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const u = new URL(SERVER);
  u.pathname = `/${dbName}`;
  const db = new pg.Pool({ connectionString: u.toString(), max: 2 });
  // an idle connection cut at teardown (the database is dropped WITH (FORCE)) must not end the run unreported
  db.on('error', () => {});
  const env = {
    DATABASE_URL: u.toString(),
    KEYVAULT_MASTER_KEY: randomBytes(32).toString('base64'),
    KEYVAULT_ADMIN_TOKEN: `bench_${randomBytes(24).toString('hex')}`,
    KEYVAULT_UPSTREAM_OPENAI: `http://127.0.0.1:${ports.stub}`,
    KEYVAULT_UPSTREAM_STRIPE: `http://127.0.0.1:${ports.stub}`,
    KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true',
    KEYVAULT_FAILED_AUTH_LIMIT: '100000',
    LOG_LEVEL: 'warn',
    DATABASE_POOL_SIZE: '20',
  };
  const results = { rows: [], perCall: null, issuance: null, revocation: null, caps: null, streams: null, streamsH2: null, capture: null };
  try {
    start(join(shared, 'bench/upstream-stub.mjs'), [String(ports.stub)]);
    const bareProcess = start(join(shared, 'bench/bare-proxy.mjs'), [String(ports.bare), String(ports.stub)]);
    const apiMain = join(root, 'dist/apps/api/apps/api/src/main.js');
    const apiProcess = start(apiMain, [], { ...env, API_PORT: String(ports.api), API_WORKERS: '1' }, 'api');
    await waitFor(`http://127.0.0.1:${ports.api}/readyz`, (r) => r.ok);
    const apiWorkersProcess = ONLY.has('issuance') ? start(apiMain, [], { ...env, API_PORT: String(ports.apiWorkers), API_WORKERS }) : null;
    if (apiWorkersProcess) await waitFor(`http://127.0.0.1:${ports.apiWorkers}/readyz`, (r) => r.ok);
    const proxy = join(root, 'dist/apps/proxy/apps/proxy/src/main.js');
    const proxyProcess = start(proxy, [], { ...env, PROXY_PORT: String(ports.proxy), KEYVAULT_INSTANCE_ID: 'bench-1' }, 'proxy');
    start(proxy, [], { ...env, PROXY_PORT: String(ports.proxy2), KEYVAULT_INSTANCE_ID: 'bench-2' });
    await waitFor(`http://127.0.0.1:${ports.stub}/__seen`);
    await waitFor(`http://127.0.0.1:${ports.proxy}/readyz`, (r) => r.ok);
    await waitFor(`http://127.0.0.1:${ports.proxy2}/readyz`, (r) => r.ok);
    // the same proxy without the record before forwarding (KEYVAULT_BENCH_NO_CALL_RECORD, bench
    // only): measured beside the others to show what the durable record costs
    let noRecordProcess = null;
    if (ONLY.has('proxy')) {
      noRecordProcess = start(proxy, [], { ...env, PROXY_PORT: String(ports.proxyNoRecord), KEYVAULT_INSTANCE_ID: 'bench-3', KEYVAULT_BENCH_NO_CALL_RECORD: 'true' }, 'proxy-no-record');
      await waitFor(`http://127.0.0.1:${ports.proxyNoRecord}/readyz`, (r) => r.ok);
    }
    // BENCH_BASELINE: the other build's proxy, as a fourth instance of the same deployment
    let baselineProcess = null;
    if (ONLY.has('proxy') && BASELINE_ROOT) {
      baselineProcess = start(join(BASELINE_ROOT, 'dist/apps/proxy/apps/proxy/src/main.js'), [], { ...env, PROXY_PORT: String(ports.proxyBaseline), KEYVAULT_INSTANCE_ID: 'bench-4' });
      await waitFor(`http://127.0.0.1:${ports.proxyBaseline}/readyz`, (r) => r.ok);
    }

    const A = env.KEYVAULT_ADMIN_TOKEN;
    const tenant = await api('POST', '/tenants', { name: 'Bench' }, A);
    const { api_key: tenantKey } = await api('POST', `/tenants/${tenant.id}/api-keys`, { name: 'bench' }, A);
    // BENCH_BUDGETS=1: every level above the key capped too (profile day and month, tenant month,
    // the hot key's life), far above what the run spends, to measure what drawing on five
    // levels instead of one costs (docs/guardrails.md, issue 19)
    const budgets = process.env.BENCH_BUDGETS === '1';
    if (budgets) await api('PATCH', `/tenants/${tenant.id}`, { monthly_usd_cap: 900_000 }, A);
    await api('POST', '/credentials', { name: 'bench_openai', vendor: 'openai', keys: ['sk-real-bench-key-0001'], ...(budgets ? { daily_usd_cap: 900_000, monthly_usd_cap: 900_000 } : {}) }, tenantKey);
    await api('POST', '/credentials', { name: 'bench_stripe', vendor: 'stripe', keys: ['sk_test_real_bench_0001'] }, tenantKey);
    // duplicate_window 0: the bench's identical bodies are distinct calls, not duplicates of one
    const issue = (cap, label, vendor = 'openai', allowed = ['POST /v1/chat/completions'], extra = {}) =>
      api('POST', '/vault/keys', { vendor, daily_usd_cap: cap, allowed_endpoints: allowed, expires_in: '2h', label, duplicate_window: '0', ...extra }, tenantKey);

    if (ONLY.has('proxy')) {
      const hot = await issue(1_000_000, 'bench-hot', undefined, undefined, budgets ? { total_usd_cap: 1_000_000 } : {});
      const kvHeaders = { authorization: `Bearer ${hot.vault_key}` };
      // Warm-up, then alternate bare / keyvault so that drift on a shared machine hits both alike.
      await loadAt(ports.bare, 10, {});
      await loadAt(ports.proxy, 10, kvHeaders);
      await loadAt(ports.proxyNoRecord, 10, kvHeaders);
      if (baselineProcess) await loadAt(ports.proxyBaseline, 10, kvHeaders);
      const countersBefore = await scrape(ports.proxy);
      for (const connections of CONNECTIONS) {
        const acc = { bare: [], keyvault: [], noRecord: [], baseline: [] };
        for (let round = 0; round < ROUNDS; round++) {
          const run = (port, headers) => (connections === 1 ? sequential(port, headers) : loadAt(port, connections, headers));
          acc.bare.push(await withCpu(bareProcess, db, () => run(ports.bare, {})));
          // the calls of this run that waited for a lease grant (a durable statement) on proxy 1
          const waits = async () => (await scrape(ports.proxy)).get('keyvault_proxy_lease_waits_total') ?? 0;
          const measure = async () => {
            const before = await waits();
            const r = await withCpu(proxyProcess, db, () => run(ports.proxy, kvHeaders));
            return { ...r, leaseWaits: (await waits()) - before };
          };
          acc.keyvault.push(await (connections === PROFILE_CONNECTIONS && round === 0 ? profiled(proxyProcess, measure) : measure()));
          const measureNoRecord = () => withCpu(noRecordProcess, db, () => run(ports.proxyNoRecord, kvHeaders));
          acc.noRecord.push(await (connections === PROFILE_CONNECTIONS && round === 0 ? profiled(noRecordProcess, measureNoRecord) : measureNoRecord()));
          if (baselineProcess) acc.baseline.push(await withCpu(baselineProcess, db, () => run(ports.proxyBaseline, kvHeaders)));
          const line = (x) => `${fmt(x.rps, 0)} req/s (p50 ${fmt(x.p50, 2)}, p99 ${fmt(x.p99, 2)} ms; CPU µs per call ${fmt(x.procUs, 0)} + pg ${fmt(x.pgUs, 0)}, machine ${fmt(x.machineUs, 0)})`;
          const baseline = baselineProcess ? `, baseline build ${line(acc.baseline.at(-1))}` : '';
          log(`c=${connections} round ${round + 1}: bare ${line(acc.bare.at(-1))}, keyvault ${line(acc.keyvault.at(-1))} (lease waits ${acc.keyvault.at(-1).leaseWaits}), keyvault without the record ${line(acc.noRecord.at(-1))}${baseline}; load ${loadavg()[0].toFixed(2)}`);
        }
        const summary = (xs) => ({
          rps: avg(xs, 'rps'), p50: avg(xs, 'p50'), p99: avg(xs, 'p99'), non2xx: sum(xs, 'non2xx'),
          procUs: avg(xs, 'procUs'), pgUs: avg(xs, 'pgUs'), machineUs: avg(xs, 'machineUs'),
        });
        results.rows.push({ connections, bare: summary(acc.bare), keyvault: summary(acc.keyvault), noRecord: summary(acc.noRecord), ...(baselineProcess ? { baseline: summary(acc.baseline) } : {}) });
      }
      // what the measured calls cost proxy 1 in database statements, by what they were for
      const countersAfter = await scrape(ports.proxy);
      const delta = (prefix) =>
        [...countersAfter].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k, v - (countersBefore.get(k) ?? 0)]);
      const calls = delta('keyvault_proxy_calls_total').reduce((n, [, v]) => n + v, 0);
      results.perCall = {
        calls,
        queries: delta('keyvault_proxy_db_queries_total').filter(([, v]) => v > 0).map(([k, v]) => [/op="([^"]+)"/.exec(k)?.[1] ?? k, v]),
        leaseWaits: delta('keyvault_proxy_lease_waits_total').reduce((n, [, v]) => n + v, 0),
      };
    }

    if (ONLY.has('issuance')) {
      // POST /vault/keys with a tenant API key, 10 connections, on the api as one process and as
      // a cluster (API_WORKERS), alternating; with the CPU each issuance cost the api and the machine.
      const issueAt = (port, duration) =>
        cannon({
          url: `http://127.0.0.1:${port}/vault/keys`,
          method: 'POST',
          connections: 10,
          duration,
          headers: { authorization: `Bearer ${tenantKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ vendor: 'openai', daily_usd_cap: 5, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '30m', label: 'bench-issue' }),
        });
      const measure = async (port, proc) => {
        const api0 = cpuMs(proc.pid);
        const machine0 = machineMs();
        const r = await issueAt(port, SECONDS);
        const n = Math.max(1, r.requests.total);
        return {
          rps: r.requests.average,
          p50: r.latency.p50,
          p99: r.latency.p99,
          non2xx: r.non2xx + r.errors + r.timeouts,
          apiUs: ((cpuMs(proc.pid) - api0) * 1000) / n,
          machineUs: ((machineMs() - machine0) * 1000) / n,
        };
      };
      await issueAt(ports.api, 3); // warm-up (JIT, pools, prepared statements)
      await issueAt(ports.apiWorkers, 3);
      const acc = { single: [], workers: [] };
      for (let round = 0; round < ROUNDS; round++) {
        acc.single.push(await (round === 0 ? profiled(apiProcess, () => measure(ports.api, apiProcess)) : measure(ports.api, apiProcess)));
        acc.workers.push(await measure(ports.apiWorkers, apiWorkersProcess));
        log(`issuance round ${round + 1}: 1 process ${fmt(acc.single.at(-1).rps, 0)}/s, API_WORKERS=${API_WORKERS} ${fmt(acc.workers.at(-1).rps, 0)}/s`);
      }
      const summary = (xs) => ({
        rps: avg(xs, 'rps'), p50: avg(xs, 'p50'), p99: avg(xs, 'p99'), non2xx: sum(xs, 'non2xx'), apiUs: avg(xs, 'apiUs'), machineUs: avg(xs, 'machineUs'),
      });
      // as many as the api started (API_WORKERS may say auto), at least the one process itself
      const workers = Math.max(1, childrenOf(apiWorkersProcess.pid).length);
      results.issuance = { single: summary(acc.single), workers: { ...summary(acc.workers), count: workers } };
    }

    if (ONLY.has('revocation')) {
      // Under load (a key that stays valid, 16 connections on each instance), a victim warm on
      // the second instance is withdrawn through the api, revoked or its tenant disabled, while
      // a sequential client keeps calling that instance with it. The window is how long after
      // the api answered (the change committed before that) a call sent to the second instance
      // was still served; `served after` counts such calls.
      const steady = await issue(1_000_000, 'bench-revocation-load');
      const background = [ports.proxy, ports.proxy2].map((port) =>
        autocannon({
          url: `http://127.0.0.1:${port}${CHAT_PATH}`, method: 'POST', connections: 16, duration: 600,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${steady.vault_key}` }, body: CHAT,
        }),
      );
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const callWith = (token) =>
        new Promise((resolve) => {
          const req = http.request(
            { host: '127.0.0.1', port: ports.proxy2, path: CHAT_PATH, method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
            (res) => (res.resume(), res.on('end', () => resolve(res.statusCode))),
          );
          req.on('error', () => resolve(0));
          req.end(CHAT);
        });
      const trial = async (token, withdraw) => {
        if ((await callWith(token)) !== 200) throw new Error('the revocation victim was not served before its withdrawal');
        const calls = [];
        let polling = true;
        const poller = (async () => {
          while (polling) {
            const sentAt = performance.now();
            calls.push({ sentAt, status: await callWith(token) });
          }
        })();
        const t0 = performance.now();
        await withdraw();
        const answeredAt = performance.now();
        const until = answeredAt + 5000;
        while (performance.now() < until && !calls.some((c) => c.sentAt >= answeredAt && c.status === 401)) await sleep(1);
        await sleep(50); // and a few calls more: none may be served again
        polling = false;
        await poller;
        const servedAfter = calls.filter((c) => c.sentAt >= answeredAt && c.status === 200);
        const firstRefused = calls.find((c) => c.status === 401);
        return {
          refusedAfterMs: firstRefused ? Math.max(0, firstRefused.sentAt - t0) : null,
          windowMs: servedAfter.length ? Math.max(...servedAfter.map((c) => c.sentAt - answeredAt)) : 0,
          servedAfter: servedAfter.length,
          polled: calls.length,
        };
      };
      const A = env.KEYVAULT_ADMIN_TOKEN;
      results.revocation = { key: [], tenant: [] };
      for (let i = 0; i < 5; i++) {
        const victim = await issue(10, 'bench-revoke');
        results.revocation.key.push(await trial(victim.vault_key, () => api('DELETE', `/vault/keys/${victim.id}`, undefined, tenantKey)));
        const other = await api('POST', '/tenants', { name: `Bench disabled ${i}` }, A);
        const { api_key: otherKey } = await api('POST', `/tenants/${other.id}/api-keys`, { name: 'bench' }, A);
        await api('POST', '/credentials', { name: 'bench_openai', vendor: 'openai', keys: ['sk-real-bench-key-0002'] }, otherKey);
        const otherVictim = await api('POST', '/vault/keys', { vendor: 'openai', daily_usd_cap: 10, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '2h' }, otherKey);
        results.revocation.tenant.push(await trial(otherVictim.vault_key, () => api('POST', `/tenants/${other.id}/disable`, undefined, A)));
      }
      for (const b of background) b.stop();
      agent.destroy();
      for (const [kind, xs] of Object.entries(results.revocation)) {
        log(`${kind} withdrawn: refused after ${xs.map((x) => (x.refusedAfterMs === null ? 'never' : `${fmt(x.refusedAfterMs)} ms`)).join(', ')}; window ${fmt(Math.max(...xs.map((x) => x.windowMs)))} ms`);
      }
    }

    if (ONLY.has('caps')) {
      const spendOf = async (id) => {
        for (let i = 0; i < 100; i++) {
          const s = (await db.query('SELECT spent_nanos::text AS spent, reserved_nanos::text AS reserved FROM vault_key_spend WHERE vault_key_id = $1', [id])).rows[0];
          const leases = (await db.query('SELECT 1 FROM spend_reservations WHERE vault_key_id = $1', [id])).rowCount;
          if (s && s.reserved === '0' && leases === 0) return Number(s.spent);
          await sleep(100);
        }
        return null;
      };
      const fire = (n, path, token, body, contentType) =>
        Promise.all(
          Array.from({ length: n }, (_, i) =>
            fetch(`http://127.0.0.1:${i % 2 ? ports.proxy : ports.proxy2}${path}`, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${token}` }, body }).then(
              async (r) => (await r.arrayBuffer(), r.status),
              () => 0,
            ),
          ),
        );
      // $1 payment intents on a $50 cap, 200 at once over both instances: exactly 50 may pass.
      const stripeKey = await issue(50, 'bench-cap-stripe', 'stripe', ['POST /v1/payment_intents']);
      const charges = await fire(200, '/stripe/v1/payment_intents', stripeKey.vault_key, 'amount=100&currency=usd', 'application/x-www-form-urlencoded');
      // chats whose worst case (every body byte a token, 16 output tokens) is ~22 micro-dollars and
      // which cost 3.6 (12 + 3 tokens, exactly): 300 at once over both instances on a 1,000 micro-dollar cap
      const llmKey = await issue(0.001, 'bench-cap-llm');
      const chats = [];
      for (let wave = 0; wave < 3; wave++) chats.push(...(await fire(100, CHAT_PATH, llmKey.vault_key, CHAT, 'application/json')));
      const count = (xs, s) => xs.filter((x) => x === s).length;
      results.caps = {
        stripe: { passed: count(charges, 200), refused: count(charges, 429), other: charges.length - count(charges, 200) - count(charges, 429), spent: await spendOf(stripeKey.id) },
        llm: { passed: count(chats, 200), refused: count(chats, 429), other: chats.length - count(chats, 200) - count(chats, 429), spent: await spendOf(llmKey.id) },
      };
      log(`caps: stripe ${results.caps.stripe.passed} passed, llm ${results.caps.llm.passed} passed`);
    }

    if (ONLY.has('capture')) {
      // Issue 21: capturing a call (redaction, sealing, the insert) happens after the response,
      // off the request path. Two keys on the same instance, one capturing nothing, one capturing
      // bodies, alternating round by round, so drift on a shared machine hits both alike.
      const none = await issue(1_000_000, 'bench-capture-none');
      const bodies = await issue(1_000_000, 'bench-capture-bodies', 'openai', ['POST /v1/chat/completions'], { capture: 'bodies' });
      const sse = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'Say meow' }] });
      const capturedBefore = Number((await db.query('SELECT count(*) AS n FROM audit_captures')).rows[0].n);
      results.capture = [];
      for (const [name, body, connections] of [
        ['JSON, 1 connection', CHAT, 1],
        ['JSON, 20 connections', CHAT, 20],
        ['SSE, 20 connections', sse, 20],
      ]) {
        const acc = { none: [], bodies: [] };
        const run = (key) => withCpu(proxyProcess, db, () => firstBytes(ports.proxy, { authorization: `Bearer ${key.vault_key}` }, body, connections));
        await run(none); // warm-up
        const warm = await run(bodies);
        acc.warmBodies = warm.n + warm.non2xx;
        for (let round = 0; round < ROUNDS; round++) {
          // BENCH_PROFILE: the first round of each row, both keys (capture-<row>-<key>.cpuprofile)
          const measured = (key, label) => (round === 0 ? profiled(proxyProcess, () => run(key), `capture-${rowSlug(name)}-${label}`) : run(key));
          acc.none.push(await measured(none, 'none'));
          acc.bodies.push(await measured(bodies, 'bodies'));
          const line = (x) => `p50 ${fmt(x.p50, 2)} / p99 ${fmt(x.p99, 2)} ms (CPU µs per call: proxy ${fmt(x.procUs, 0)}, pg ${fmt(x.pgUs, 0)})`;
          log(`capture ${name} round ${round + 1}: first byte none ${line(acc.none.at(-1))}, bodies ${line(acc.bodies.at(-1))}; load ${loadavg()[0].toFixed(2)}`);
        }
        const summary = (xs) => ({ n: sum(xs, 'n'), p50: avg(xs, 'p50'), p99: avg(xs, 'p99'), non2xx: sum(xs, 'non2xx'), procUs: avg(xs, 'procUs'), pgUs: avg(xs, 'pgUs') });
        results.capture.push({ name, none: summary(acc.none), bodies: summary(acc.bodies), warmBodies: acc.warmBodies });
      }
      // warm-up calls included: they were captured too
      results.capture.bodiesCalls = results.capture.reduce((n, r) => n + r.warmBodies + r.bodies.n + r.bodies.non2xx, 0);
      // the captures were written: every bodies call has one. Capture work yields the CPU to
      // serving calls, so it may finish after the load ends: wait while the count still grows.
      const ended = performance.now();
      let captured = 0;
      for (let last = -1, still = 0; still < 3 && performance.now() - ended < 120_000; await sleep(1000)) {
        captured = Number((await db.query('SELECT count(*) AS n FROM audit_captures')).rows[0].n) - capturedBefore;
        if (captured >= results.capture.bodiesCalls) break;
        still = captured === last ? still + 1 : 0;
        last = captured;
      }
      results.capture.captured = captured;
      results.capture.storedAfterMs = performance.now() - ended;
      results.capture.dropped = [...(await scrape(ports.proxy)).entries()].filter(([k]) => k.startsWith('keyvault_proxy_captures_dropped_total')).reduce((n, [, v]) => n + v, 0);
      log(`capture: ${captured} of ${results.capture.bodiesCalls} stored ${fmt(results.capture.storedAfterMs / 1000, 1)} s after the load ended; dropped ${results.capture.dropped}`);
    }

    if (ONLY.has('streams')) {
      // Fresh processes on their own slow stub, so each path's RSS and CPU are its own.
      start(join(root, 'bench/stream-stub.mjs'), [String(ports.streamStub), String(STREAMS.chunks), String(STREAMS.gapMs)]);
      const bare = start(join(shared, 'bench/bare-proxy.mjs'), [String(ports.streamBare), String(ports.streamStub)]);
      const streamEnv = { ...env, KEYVAULT_UPSTREAM_OPENAI: `http://127.0.0.1:${ports.streamStub}` };
      const kv = [
        start(proxy, [], { ...streamEnv, PROXY_PORT: String(ports.streamProxy), KEYVAULT_INSTANCE_ID: 'bench-streams-1' }, 'proxy-streams'),
        start(proxy, [], { ...streamEnv, PROXY_PORT: String(ports.streamProxy2), KEYVAULT_INSTANCE_ID: 'bench-streams-2' }),
      ];
      await waitFor(`http://127.0.0.1:${ports.streamStub}/__ready`);
      await waitFor(`http://127.0.0.1:${ports.streamProxy}/readyz`, (r) => r.ok);
      await waitFor(`http://127.0.0.1:${ports.streamProxy2}/readyz`, (r) => r.ok);
      const key = await issue(1_000_000, 'bench-streams');
      const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'Tell me a story' }] });
      const drive = (which, streams) =>
        driveStreams({
          ...(which === 'bare'
            ? { ports: [ports.streamBare], pids: [bare.pid], headers: {} }
            : { ports: [ports.streamProxy, ports.streamProxy2], pids: kv.map((c) => c.pid), headers: { authorization: `Bearer ${key.vault_key}` } }),
          body,
          path: CHAT_PATH,
          streams,
          rampMs: STREAMS.rampMs,
          cpuMs,
        });
      // warm-up (JIT, pools), then the measured run of each path
      await drive('bare', 20);
      await drive('keyvault', 20);
      const bareRun = await drive('bare', STREAMS.n);
      log(`streams bare: ${bareRun.completed}/${STREAMS.n} completed, first chunk p99 ${fmt(bareRun.firstP99)} ms`);
      const leaseWaits = async () => {
        let n = 0;
        for (const port of [ports.streamProxy, ports.streamProxy2]) n += (await scrape(port)).get('keyvault_proxy_lease_waits_total') ?? 0;
        return n;
      };
      const waitsBefore = await leaseWaits();
      const kvRun = await profiled(kv[0], () => drive('keyvault', STREAMS.n));
      kvRun.leaseWaits = (await leaseWaits()) - waitsBefore;
      log(`streams keyvault: ${kvRun.completed}/${STREAMS.n} completed, first chunk p99 ${fmt(kvRun.firstP99)} ms`);
      results.streams = { bare: bareRun, keyvault: kvRun };
    }

    if (ONLY.has('streams-h2')) {
      // The same streams to a TLS upstream offering h2 and http/1.1: one Keyvault instance each way.
      const dir = mkdtempSync(join(tmpdir(), 'kv-bench-tls-'));
      const certFile = join(dir, 'cert.pem');
      const keyFile = join(dir, 'key.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
      try {
        start(join(root, 'bench/stream-stub.mjs'), [String(ports.tlsStub), String(STREAMS.chunks), String(STREAMS.gapMs), certFile, keyFile]);
        const tlsEnv = { ...env, KEYVAULT_UPSTREAM_OPENAI: `https://127.0.0.1:${ports.tlsStub}`, KEYVAULT_UPSTREAM_CA_FILE: certFile };
        const h1 = start(proxy, [], { ...tlsEnv, PROXY_PORT: String(ports.tlsH1), KEYVAULT_INSTANCE_ID: 'bench-tls-h1' });
        const h2 = start(proxy, [], { ...tlsEnv, PROXY_PORT: String(ports.tlsH2), KEYVAULT_INSTANCE_ID: 'bench-tls-h2', KEYVAULT_UPSTREAM_HTTP2: 'true' });
        await waitFor(`http://127.0.0.1:${ports.tlsH1}/readyz`, (r) => r.ok);
        await waitFor(`http://127.0.0.1:${ports.tlsH2}/readyz`, (r) => r.ok);
        const key = await issue(1_000_000, 'bench-streams-tls');
        const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'Tell me a story' }] });
        const drive = (port, child, streams) =>
          driveStreams({
            ports: [port], pids: [child.pid], headers: { authorization: `Bearer ${key.vault_key}` }, body, path: CHAT_PATH, streams, rampMs: STREAMS.rampMs, cpuMs,
            probe: async () => (await scrape(port)).get('keyvault_proxy_upstream_connections') ?? 0,
          });
        await drive(ports.tlsH1, h1, 20);
        await drive(ports.tlsH2, h2, 20);
        const http1 = await drive(ports.tlsH1, h1, STREAMS.n);
        log(`streams over TLS, HTTP/1.1: ${http1.completed}/${STREAMS.n} completed, first chunk p99 ${fmt(http1.firstP99)} ms, upstream connections ${http1.peakProbe}`);
        const http2 = await drive(ports.tlsH2, h2, STREAMS.n);
        log(`streams over TLS, HTTP/2: ${http2.completed}/${STREAMS.n} completed, first chunk p99 ${fmt(http2.firstP99)} ms, upstream connections ${http2.peakProbe}`);
        results.streamsH2 = { http1, http2 };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.race([Promise.all(children.map((c) => c.exited)), sleep(10_000)]);
    for (const c of children) c.kill('SIGKILL');
    await db.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
  write(results, loadBefore, loadavg());
}

const CAPTURE_SECTION = ['<!-- capture: BENCH_ONLY=capture -->', '<!-- /capture -->'];

/** The capture scenario's section of RESULTS.md, between its markers. */
function captureSection(capture, loadBefore, loadAfter) {
  const lines = [
    CAPTURE_SECTION[0],
    '## Capture and the first byte',
    '',
    `Run ${new Date().toISOString()}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' / ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' / ')} after. One proxy instance, two vault keys of one tenant: \`capture: none\` and \`capture: bodies\`, measured alternately, ${ROUNDS} rounds of ${SECONDS} s each; the client's time from sending the request to the first byte of the response body (hrtime). Reproduce: \`BENCH_ONLY=capture npm run bench\`.`,
    '',
    '| calls | capture none p50 / p99 ms | capture bodies p50 / p99 ms | ratio bodies / none p50 / p99 | calls measured (none / bodies) | non-2xx | CPU µs per call, proxy + pg (none / bodies) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of capture) {
    lines.push(
      `| ${r.name} | ${fmt(r.none.p50, 2)} / ${fmt(r.none.p99, 2)} | ${fmt(r.bodies.p50, 2)} / ${fmt(r.bodies.p99, 2)} | ${fmt(r.bodies.p50 / r.none.p50, 2)} / ${fmt(r.bodies.p99 / r.none.p99, 2)} | ${r.none.n} / ${r.bodies.n} | ${r.none.non2xx + r.bodies.non2xx} | ${fmt(r.none.procUs, 0)} + ${fmt(r.none.pgUs, 0)} / ${fmt(r.bodies.procUs, 0)} + ${fmt(r.bodies.pgUs, 0)} |`,
    );
  }
  lines.push(
    '',
    `Captures stored for the \`bodies\` key's calls: ${capture.captured} of ${capture.bodiesCalls}, all of them ${fmt(capture.storedAfterMs / 1000, 1)} s after the load ended (capture work yields the CPU to serving calls); dropped (keyvault_proxy_captures_dropped_total): ${capture.dropped}.`,
    CAPTURE_SECTION[1],
  );
  return lines.join('\n');
}

function write({ rows, perCall, issuance, revocation, caps, streams, streamsH2, capture }, loadBefore, loadAfter) {
  const file = join(root, 'bench/RESULTS.md');
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const from = previous.indexOf(CAPTURE_SECTION[0]);
  const to = previous.indexOf(CAPTURE_SECTION[1]);
  const oldSection = from >= 0 && to > from ? previous.slice(from, to + CAPTURE_SECTION[1].length) : null;
  const section = capture ? captureSection(capture, loadBefore, loadAfter) : oldSection;
  if (capture && !rows.length && !issuance && !revocation && !caps && !streams && !streamsH2) {
    // the capture scenario alone: its section is replaced (or added), the rest of the file kept
    const text = oldSection ? previous.replace(oldSection, section) : `${previous.trimEnd()}\n\n${section}\n`;
    writeFileSync(file, text);
    process.stdout.write(`${section}\n`);
    return;
  }
  const lines = [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' / ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' / ')} after (the machine is shared).`,
    `${ROUNDS} alternating rounds of ${SECONDS} s per path; POST chat completion (gpt-4o-mini, max_tokens 16) against a loopback stub; Keyvault with its full policy (key check, allowlist, cap through budget leases, audit row). 50 connections: autocannon; 1 connection: a sequential keep-alive client timed with hrtime. Everything (load generator, Postgres, both paths) shares the machine; Keyvault logs at warn (no line per request).`,
    'Reproduce: `npm run bench` (BENCH_SECONDS, BENCH_ROUNDS, BENCH_ONLY, BENCH_PROFILE: see bench/run.mjs).',
    '',
  ];
  if (rows.length) {
    lines.push('| connections | path | req/s | p50 ms | p99 ms | non-2xx | CPU µs per call: proxy process / Postgres / whole machine |', '|---|---|---|---|---|---|---|');
    const cpu = (x) => `${fmt(x.procUs, 0)} / ${fmt(x.pgUs, 0)} / ${fmt(x.machineUs, 0)}`;
    for (const r of rows) {
      const digits = r.connections === 1 ? 2 : 1;
      lines.push(`| ${r.connections} | bare passthrough | ${fmt(r.bare.rps, 0)} | ${fmt(r.bare.p50, digits)} | ${fmt(r.bare.p99, digits)} | ${r.bare.non2xx} | ${cpu(r.bare)} |`);
      lines.push(`| ${r.connections} | keyvault proxy | ${fmt(r.keyvault.rps, 0)} | ${fmt(r.keyvault.p50, digits)} | ${fmt(r.keyvault.p99, digits)} | ${r.keyvault.non2xx} | ${cpu(r.keyvault)} |`);
      if (r.noRecord) lines.push(`| ${r.connections} | keyvault proxy, no record before forwarding (bench only) | ${fmt(r.noRecord.rps, 0)} | ${fmt(r.noRecord.p50, digits)} | ${fmt(r.noRecord.p99, digits)} | ${r.noRecord.non2xx} | ${cpu(r.noRecord)} |`);
      if (r.baseline) lines.push(`| ${r.connections} | keyvault proxy, baseline build (${BASELINE_ROOT}) | ${fmt(r.baseline.rps, 0)} | ${fmt(r.baseline.p50, digits)} | ${fmt(r.baseline.p99, digits)} | ${r.baseline.non2xx} | ${cpu(r.baseline)} |`);
    }
    lines.push('');
  }
  if (perCall && perCall.calls > 0) {
    const per1000 = (n) => fmt((1000 * n) / perCall.calls, 1);
    const ops = perCall.queries.map(([op, n]) => `${op} ${per1000(n)}`).join(', ') || 'none';
    lines.push(
      `Database statements per 1,000 proxied calls on proxy 1 over the measured rounds (${perCall.calls} calls): ${ops}. Calls that waited for a lease grant: ${perCall.leaseWaits}.`,
      '',
    );
  }
  if (streams) {
    const mb = (b) => fmt(b / 2 ** 20, 0);
    lines.push(
      `Streams: ${STREAMS.n} concurrent SSE chat completions, each ${STREAMS.chunks} chunks ${STREAMS.gapMs} ms apart, started over ${STREAMS.rampMs} ms, against a slow loopback stub (bench/stream-stub.mjs); Keyvault as two instances (streams alternate between them) with its full policy, the bare passthrough uncapped (one process). Reproduce: \`BENCH_STREAMS=${STREAMS.n} npm run bench -- --scenario streams\`.`,
      '',
      '| path | completed | first chunk p50 / p99 ms | inter-chunk p99 ms | all done after s | peak RSS MB (before) | RSS per open stream KB | CPU s per 1,000 streams |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const [name, r] of [['bare passthrough', streams.bare], ['keyvault proxy ×2', streams.keyvault]]) {
      lines.push(
        `| ${name} | ${r.completed} / ${r.streams} | ${fmt(r.firstP50)} / ${fmt(r.firstP99)} | ${fmt(r.gapP99)} | ${fmt(r.elapsedS)} | ${mb(r.peakRss)} (${mb(r.rssBefore)}) | ${fmt((r.peakRss - r.rssBefore) / 1024 / r.streams)} | ${fmt(r.cpuSPer1000, 2)} |`,
      );
    }
    lines.push('', `Keyvault streams that waited for a budget lease grant (a database round trip) before being served: ${streams.keyvault.leaseWaits ?? 'n/a'} of ${streams.keyvault.streams}.`, '');
  }
  if (streamsH2) {
    const mb = (b) => fmt(b / 2 ** 20, 0);
    lines.push(
      `Upstream protocol: the same ${STREAMS.n} streams through one Keyvault instance to the stub over TLS (it offers h2 and http/1.1), with HTTP/1.1 (the default) and with \`KEYVAULT_UPSTREAM_HTTP2=true\`. Reproduce: \`BENCH_STREAMS=${STREAMS.n} npm run bench -- --scenario streams-h2\`.`,
      '',
      '| upstream protocol | completed | first chunk p50 / p99 ms | inter-chunk p99 ms | all done after s | peak RSS MB | CPU s per 1,000 streams | peak upstream connections |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const [name, r] of [['HTTP/1.1', streamsH2.http1], ['HTTP/2', streamsH2.http2]]) {
      lines.push(`| ${name} | ${r.completed} / ${r.streams} | ${fmt(r.firstP50)} / ${fmt(r.firstP99)} | ${fmt(r.gapP99)} | ${fmt(r.elapsedS)} | ${mb(r.peakRss)} | ${fmt(r.cpuSPer1000, 2)} | ${r.peakProbe ?? 'n/a'} |`);
    }
    lines.push('');
  }
  lines.push('| measure | value | target |', '|---|---|---|');
  const at = (c) => rows.find((r) => r.connections === c);
  if (at(50)) lines.push(`| throughput keyvault / bare at 50 connections | ${fmt(at(50).keyvault.rps / at(50).bare.rps, 2)} (non-2xx ${at(50).keyvault.non2xx}) | ≥ 0.85 (issue 17), no non-2xx |`);
  if (at(1)) lines.push(`| added p99 at 1 connection | ${fmt(at(1).keyvault.p99 - at(1).bare.p99, 2)} ms | ≤ 1 ms (issue 17) |`);
  if (at(50)?.noRecord) lines.push(`| the record's cost at 50 connections: throughput ratio to bare without it − with it | ${fmt((at(50).noRecord.rps - at(50).keyvault.rps) / at(50).bare.rps, 3)} | ≤ 0.05 |`);
  if (at(1)?.noRecord) lines.push(`| the record's added p99 at 1 connection | ${fmt(at(1).keyvault.p99 - at(1).noRecord.p99, 2)} ms | ≤ 1 ms |`);
  if (at(1)?.baseline) lines.push(`| the baseline build's record's added p99 at 1 connection | ${fmt(at(1).baseline.p99 - at(1).noRecord.p99, 2)} ms | ≤ 1 ms |`);
  if (issuance) {
    const row = (name, x) =>
      `| vault-key issuance (POST /vault/keys, 10 connections), ${name} | ${fmt(x.rps, 0)} /s (p99 ${fmt(x.p99, 0)} ms, non-2xx ${x.non2xx}; CPU per issuance: api ${fmt(x.apiUs, 0)} µs, whole machine ${fmt(x.machineUs, 0)} µs) | ≥ 1,000 /s |`;
    lines.push(row('api as one process (API_WORKERS=1)', issuance.single));
    lines.push(row(`api with API_WORKERS=${issuance.workers.count}`, issuance.workers));
  }
  if (revocation) {
    for (const [kind, name] of [['key', 'a revoked vault key'], ['tenant', "a disabled tenant's key"]]) {
      const xs = revocation[kind];
      const refused = xs.map((x) => (x.refusedAfterMs === null ? 'not within 5 s' : `${fmt(x.refusedAfterMs)} ms`)).join(', ');
      const windowMs = Math.max(...xs.map((x) => x.windowMs));
      const served = xs.reduce((n, x) => n + x.servedAfter, 0);
      lines.push(`| ${name}, under load, on the other proxy instance (5 trials): refused after the call | ${refused} | ≤ 1 s |`);
      lines.push(`| ${name}: longest window after the api answered (calls still served then) | ${fmt(windowMs)} ms (${served} of ${xs.reduce((n, x) => n + x.polled, 0)} calls) | < 100 ms |`);
    }
  }
  if (caps) {
    const usd = (n) => (n === null ? 'leases not given back within 10 s' : `$${(n / 1e9).toFixed(9)}`);
    const CHAT_NANOS = 3_600;
    lines.push(`| $50 cap, 200 concurrent $1 payment intents over 2 instances | ${caps.stripe.passed} passed, ${caps.stripe.refused} refused, ${caps.stripe.other} other; spent ${usd(caps.stripe.spent)} | exactly 50 pass, $50 spent |`);
    lines.push(`| $0.001 cap, 300 chats (worst case ~22 µ$, cost 3.6 µ$) in waves of 100 over 2 instances | ${caps.llm.passed} passed, ${caps.llm.refused} refused, ${caps.llm.other} other; spent ${usd(caps.llm.spent)} = ${caps.llm.passed} × 3.6 µ$: ${caps.llm.spent === caps.llm.passed * CHAT_NANOS ? 'yes' : 'no'} | never above $0.001 |`);
  }
  if (streams) {
    const { bare: b, keyvault: k } = streams;
    lines.push(`| streams completed, keyvault / bare (${STREAMS.n} streams) | ${k.completed} / ${b.completed} | every stream |`);
    lines.push(`| first-chunk p99 overhead over bare | ${fmt(k.firstP99 - b.firstP99)} ms | ≤ 5 ms at 2,000 streams |`);
    lines.push(`| peak RSS keyvault, 2 instances together (one instance) vs 2 × bare + 100 MB | ${fmt(k.peakRss / 2 ** 20, 0)} (${fmt(k.peakRss / 2 ** 21, 0)}) MB vs ${fmt((2 * b.peakRss) / 2 ** 20 + 100, 0)} MB | ≤ |`);
    lines.push(`| RSS per open stream keyvault / bare | ${fmt((k.peakRss - k.rssBefore) / Math.max(1, b.peakRss - b.rssBefore), 2)} | |`);
    lines.push(`| CPU per stream keyvault / bare | ${fmt(k.cpuSPer1000 / b.cpuSPer1000, 2)} | ≤ 1.5 |`);
  }
  lines.push('');
  if (section) lines.push(section, '');
  writeFileSync(file, lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  for (const c of children) c.kill('SIGKILL');
  process.stderr.write(`[bench] failed: ${err.message}\n`);
  process.exit(1);
});
