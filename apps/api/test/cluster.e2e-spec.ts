import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@keyvault/testing';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';
import { freePort } from '../../../test/harness/free-port';

const API_MAIN = join(__dirname, '../../../dist/apps/api/apps/api/src/main.js');
const FAILED_AUTH_LIMIT = 4;

/** The processes a process started (Linux: /proc/<pid>/task/<pid>/children). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

/** Sum of one counter series over a Prometheus text page, for series whose labels include all of `labels`. */
function counter(page: string, name: string, labels: string[]): number {
  return page
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/**
 * API_WORKERS=2: the built api as a cluster primary with two workers on one port, run as in
 * production. Every request goes over a new connection, so the primary hands them out in turn.
 */
describe('api with API_WORKERS=2', () => {
  let db: TestDatabase;
  let primary: ChildProcess;
  let port: number;
  let output = '';
  const admin = `kv_admin_${randomBytes(24).toString('hex')}`;
  const call = (method: string, path: string, body?: unknown, token = admin) =>
    rawRequest(port, method, path, { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body === undefined ? undefined : JSON.stringify(body));

  beforeAll(async () => {
    if (!existsSync(API_MAIN)) throw new Error(`${API_MAIN} is missing: run \`npm run build\` first`);
    db = await createTestDatabase();
    port = await freePort();
    primary = spawn(process.execPath, [API_MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: db.url,
        KEYVAULT_MASTER_KEY: randomBytes(32).toString('base64'),
        KEYVAULT_ADMIN_TOKEN: admin,
        API_PORT: String(port),
        HOST: '127.0.0.1',
        API_WORKERS: '2',
        KEYVAULT_FAILED_AUTH_LIMIT: String(FAILED_AUTH_LIMIT),
        LOG_LEVEL: 'warn',
      },
    });
    primary.stdout!.on('data', (d) => (output += d));
    primary.stderr!.on('data', (d) => (output += d));
    await eventually(async () => {
      if (primary.exitCode !== null) throw new Error(`api exited (${primary.exitCode}): ${output}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) && childrenOf(primary.pid!).length === 2;
    }, 'two api workers ready', 30_000);
  });

  afterAll(async () => {
    if (primary && primary.exitCode === null && primary.signalCode === null) {
      primary.kill('SIGKILL');
      for (const pid of childrenOf(primary.pid!)) process.kill(pid, 'SIGKILL');
    }
    await db?.drop();
  });

  it('serves from two processes, and /metrics on any of them counts the requests of both', async () => {
    expect(childrenOf(primary.pid!)).toHaveLength(2);
    const created = [];
    for (let i = 0; i < 6; i++) created.push(await call('POST', '/tenants', { name: `Cluster ${i}` }));
    expect(created.map((r) => r.status)).toEqual(Array(6).fill(201));
    const listed = JSON.parse((await call('GET', '/tenants?limit=100')).body) as { data: { name: string }[] };
    expect(listed.data.filter((t) => t.name.startsWith('Cluster '))).toHaveLength(6);
    // scrapes land on either worker; each answers with the sum over both
    for (let i = 0; i < 4; i++) {
      const page = (await rawRequest(port, 'GET', '/metrics')).body;
      expect(counter(page, 'keyvault_http_request_duration_seconds_count', ['method="POST"', 'route="/tenants"', 'status="201"'])).toBe(6);
    }
  });

  it('replaces a worker that dies, and keeps serving meanwhile', async () => {
    const [victim, survivor] = childrenOf(primary.pid!);
    process.kill(victim, 'SIGKILL');
    await eventually(async () => !childrenOf(primary.pid!).includes(victim), 'the primary to see the loss');
    // the survivor serves while the replacement starts
    for (let i = 0; i < 4; i++) expect((await call('GET', '/tenants?limit=1')).status).toBe(200);
    const workers = await eventually(
      async () => {
        const now = childrenOf(primary.pid!);
        return now.length === 2 && !now.includes(victim) && (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok)) ? now : null;
      },
      'a replacement worker',
      20_000,
    );
    expect(workers).toContain(survivor);
    expect(alive(victim)).toBe(false);
  });

  it('keeps failed authentications within KEYVAULT_FAILED_AUTH_LIMIT over all workers', async () => {
    // each worker refuses after its share (4 / 2): the address is refused by the 5th attempt,
    // as a single process would refuse it (each worker alone at the full limit: the 9th)
    const statuses: number[] = [];
    for (let i = 0; i < FAILED_AUTH_LIMIT + 4; i++) {
      statuses.push((await call('GET', '/tenants', undefined, `kv_live_${'0'.repeat(26)}_${randomBytes(16).toString('hex')}`)).status);
    }
    const firstRefusal = statuses.indexOf(429);
    expect(firstRefusal).toBeGreaterThan(0);
    expect(firstRefusal).toBeLessThanOrEqual(FAILED_AUTH_LIMIT);
    expect(statuses.slice(0, firstRefusal).every((s) => s === 401)).toBe(true);
  });

  it('stops its workers and exits 0 on SIGTERM', async () => {
    const workers = childrenOf(primary.pid!);
    expect(workers).toHaveLength(2);
    const exited = new Promise<number | null>((r) => primary.once('exit', (code) => r(code)));
    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
    await eventually(async () => workers.every((pid) => !alive(pid)), 'workers gone');
  });
});

describe('api with API_WORKERS=2 that cannot start', () => {
  it('exits non-zero, with its workers, when the database is unreachable', async () => {
    const closed = await freePort();
    const r = spawnSync(process.execPath, [API_MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/postgres`,
        KEYVAULT_MASTER_KEY: randomBytes(32).toString('base64'),
        KEYVAULT_ADMIN_TOKEN: `kv_admin_${randomBytes(24).toString('hex')}`,
        API_PORT: String(await freePort()),
        HOST: '127.0.0.1',
        API_WORKERS: '2',
        LOG_LEVEL: 'warn',
      },
      encoding: 'utf8',
      timeout: 25_000,
    });
    expect(r.error).toBeUndefined(); // not killed by the timeout: it stopped by itself
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/failed to start/);
  });
});
