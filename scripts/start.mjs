// `npm start`: runs Keyvault on one machine. Without DATABASE_URL it starts an embedded
// PostgreSQL (real binaries, data under ./.data/pg, or elsewhere when its user cannot reach it:
// see embedded-postgres.mjs). On first start it generates the admin token and master key into
// ./.data/secrets.json (mode 600). Then it applies migrations and runs the api and the proxy as
// child processes, and prints one line per app, where the admin token is and a first command.
// Ctrl-C (or SIGTERM) stops the apps, then the database. Any failure is one line on stderr and
// a non-zero exit, never a stack trace.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from './embedded-postgres.mjs';
import { relative } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = resolve(process.env.KEYVAULT_DATA_DIR ?? join(root, '.data'));
const secretsFile = join(dataDir, 'secrets.json');
const entry = {
  api: join(root, 'dist/apps/api/apps/api/src/main.js'),
  proxy: join(root, 'dist/apps/proxy/apps/proxy/src/main.js'),
  migrate: join(root, 'dist/apps/api/libs/db/src/migrate.js'),
  roles: join(root, 'dist/apps/api/libs/db/src/roles.js'),
};

const say = (line) => process.stdout.write(`[keyvault] ${line}\n`);

function loadSecrets() {
  // 711: the embedded server runs as its own user (when we are root) and must reach .data/pg;
  // the secrets file itself stays 600.
  mkdirSync(dataDir, { recursive: true });
  chmodSync(dataDir, 0o711);
  if (existsSync(secretsFile)) return { secrets: JSON.parse(readFileSync(secretsFile, 'utf8')), fresh: false };
  const secrets = {
    KEYVAULT_MASTER_KEY: randomBytes(32).toString('base64'),
    KEYVAULT_ADMIN_TOKEN: `kv_admin_${randomBytes(24).toString('hex')}`,
    EMBEDDED_PG_PASSWORD: randomBytes(18).toString('hex'),
  };
  writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(secretsFile, 0o600);
  return { secrets, fresh: true };
}

function run(file, env, name, { quiet = false } = {}) {
  const child = spawn(process.execPath, [file], { env, stdio: ['ignore', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'] });
  child.name = name;
  if (quiet) {
    // kept, and shown only when it fails
    child.output = '';
    child.stdout.on('data', (c) => (child.output += c));
    child.stderr.on('data', (c) => (child.output += c));
  }
  return child;
}

async function waitHealthy(url, child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${child.name} exited with code ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${child.name} did not become healthy at ${url}`);
}

async function main() {
  for (const f of Object.values(entry)) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  const { secrets, fresh } = loadSecrets();
  const env = {
    ...process.env,
    KEYVAULT_MASTER_KEY: process.env.KEYVAULT_MASTER_KEY ?? secrets.KEYVAULT_MASTER_KEY,
    KEYVAULT_ADMIN_TOKEN: process.env.KEYVAULT_ADMIN_TOKEN ?? secrets.KEYVAULT_ADMIN_TOKEN,
    // Former master keys kept by `npm run rotate-master-key`, still accepted while anything is wrapped under them
    KEYVAULT_PREVIOUS_MASTER_KEYS: process.env.KEYVAULT_PREVIOUS_MASTER_KEYS ?? secrets.KEYVAULT_PREVIOUS_MASTER_KEYS ?? '',
  };
  const children = [];
  let embedded = null;
  let stopping = false;
  const stop = async (exitCode) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.on('exit', r)) : null)));
    if (embedded) await embedded.pg.stop().catch(() => {});
    process.exit(exitCode);
  };
  // set before anything starts, so a Ctrl-C during the start stops what already runs
  process.on('SIGINT', () => stop(130));
  process.on('SIGTERM', () => stop(143));
  failed = (err) => {
    process.stderr.write(`[keyvault] failed to start: ${err.message}\n`);
    stop(1);
  };

  if (!env.DATABASE_URL) {
    embedded = await startEmbeddedPostgres(dataDir, secrets.EMBEDDED_PG_PASSWORD);
    if (stopping) return embedded.pg.stop();
    env.DATABASE_URL = embedded.url;
  }

  // The embedded cluster is ours: create the roles the apps switch to (npm run db:roles, which a
  // DATABASE_URL deployment runs once itself), then migrate as the login that owns the tables.
  for (const step of embedded ? ['roles', 'migrate'] : ['migrate']) {
    const child = run(entry[step], env, step, { quiet: true });
    children.push(child);
    const code = await new Promise((r) => child.on('exit', r));
    children.pop();
    if (stopping) return;
    if (code !== 0) {
      const last = child.output.trim().split('\n').at(-1) ?? '';
      throw new Error(`${step === 'roles' ? 'creating the database roles' : 'migrations'} failed (exit ${code})${last ? `: ${last}` : ''}`);
    }
  }

  children.push(run(entry.api, env, 'api'), run(entry.proxy, env, 'proxy'));
  for (const c of children) c.on('exit', (code) => !stopping && (say(`${c.name} exited (${code})`), stop(code || 1)));

  const apiPort = env.API_PORT ?? '3000';
  const proxyPort = env.PROXY_PORT ?? '8080';
  const host = env.HOST ?? '127.0.0.1';
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host;
  await waitHealthy(`http://${shown}:${apiPort}/healthz`, children[0]);
  await waitHealthy(`http://${shown}:${proxyPort}/healthz`, children[1]);
  if (stopping) return;
  const api = `http://${shown}:${apiPort}`;
  say(`api    ${api}   (docs ${api}/docs, console ${api}/console)`);
  say(`proxy  http://${shown}:${proxyPort}`);
  if (process.env.KEYVAULT_ADMIN_TOKEN) {
    say('admin token: the KEYVAULT_ADMIN_TOKEN you set');
    say(`try: curl -s ${api}/tenants -H "Authorization: Bearer $KEYVAULT_ADMIN_TOKEN"`);
  } else {
    const file = relative(process.cwd(), secretsFile).startsWith('..') ? secretsFile : relative(process.cwd(), secretsFile);
    say(`admin token: KEYVAULT_ADMIN_TOKEN in ${file}${fresh ? ' (just generated)' : ''}`);
    say(`try: curl -s ${api}/tenants -H "Authorization: Bearer $(node -p "require('./${file.replace(/^\.\//, '')}').KEYVAULT_ADMIN_TOKEN")"`);
  }
  say(`${embedded ? `embedded PostgreSQL on 127.0.0.1:${embedded.port}, data in ${embedded.databaseDir}; ` : ''}Ctrl-C stops everything`);
}

let failed = (err) => {
  process.stderr.write(`[keyvault] failed to start: ${err.message}\n`);
  process.exit(1);
};
main().catch((err) => failed(err));
