// `npm start`: runs Keyvault on one machine. Without DATABASE_URL it starts an embedded
// PostgreSQL (real binaries, data under ./.data/pg). On first start it generates the admin token
// and master key into ./.data/secrets.json (mode 600) and prints the admin token once.
// Then it applies migrations and runs the api and the proxy as child processes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from './embedded-postgres.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = resolve(process.env.KEYVAULT_DATA_DIR ?? join(root, '.data'));
const secretsFile = join(dataDir, 'secrets.json');
const entry = {
  api: join(root, 'dist/apps/api/apps/api/src/main.js'),
  proxy: join(root, 'dist/apps/proxy/apps/proxy/src/main.js'),
  migrate: join(root, 'dist/apps/api/libs/db/src/migrate.js'),
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

function run(file, env, name) {
  const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  child.name = name;
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
  let embedded = null;
  if (!env.DATABASE_URL) {
    embedded = await startEmbeddedPostgres(dataDir, secrets.EMBEDDED_PG_PASSWORD);
    say(`embedded PostgreSQL on 127.0.0.1:${embedded.port} (data in ${embedded.databaseDir})`);
    env.DATABASE_URL = embedded.url;
  }

  const migrate = run(entry.migrate, env, 'migrate');
  const code = await new Promise((r) => migrate.on('exit', r));
  if (code !== 0) throw new Error(`migrations failed (exit ${code})`);

  const children = [run(entry.api, env, 'api'), run(entry.proxy, env, 'proxy')];
  let stopping = false;
  const stop = async (exitCode) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on('exit', r)) : null)));
    if (embedded) await embedded.pg.stop().catch(() => {});
    process.exit(exitCode);
  };
  for (const c of children) c.on('exit', (code) => !stopping && (say(`${c.name} exited (${code})`), stop(code || 1)));
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));

  const apiPort = env.API_PORT ?? '3000';
  const proxyPort = env.PROXY_PORT ?? '8080';
  const host = env.HOST ?? '127.0.0.1';
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host;
  await waitHealthy(`http://${shown}:${apiPort}/healthz`, children[0]);
  await waitHealthy(`http://${shown}:${proxyPort}/healthz`, children[1]);
  say(`api    http://${shown}:${apiPort}   (docs: /docs, console: /console)`);
  say(`proxy  http://${shown}:${proxyPort}`);
  if (fresh && !process.env.KEYVAULT_ADMIN_TOKEN) {
    say(`admin token (shown once; stored in ${secretsFile}): ${env.KEYVAULT_ADMIN_TOKEN}`);
  }
}

main().catch((err) => {
  process.stderr.write(`[keyvault] failed to start: ${err.message}\n`);
  process.exit(1);
});
