import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'pg';
import { ConfigError, loadProxyConfig } from '@keyvault/config';
import { MasterKeyring } from '@keyvault/crypto';
import { rewrapUnderCurrentMasterKey } from './master-key-rotation';

/**
 * `npm run rotate-master-key`: re-wraps every tenant data key and signing key that is not under
 * the current master key.
 *
 * - Deployments: give every api and proxy KEYVAULT_MASTER_KEY=<new> and
 *   KEYVAULT_PREVIOUS_MASTER_KEYS=<old> (they accept both), then run this with the same settings
 *   and DATABASE_URL. Safe while they serve; running it again is a no-op.
 * - `npm start`'s embedded setup (secrets in .data/secrets.json): with `--generate`, or when
 *   KEYVAULT_MASTER_KEY is not in the environment, it generates the new master key itself, keeps
 *   the old one in the file's KEYVAULT_PREVIOUS_MASTER_KEYS (which start.mjs passes on), then
 *   re-wraps. Keyvault must be stopped: its processes learn a new master key only when they start.
 *
 * Prints one line; exits 1 when any row could not be re-wrapped, 78 on a bad setting.
 */

// The compiled file runs from dist/apps/api/apps/api/src/cli/.
const ROOT = resolve(__dirname, '../../../../../../..');

class RotationError extends Error {}

interface EmbeddedPostgresModule {
  embeddedPort(): number;
  startEmbeddedPostgres(dataDir: string, password: string): Promise<{ url: string; pg: { stop(): Promise<void> } }>;
  embeddedClusterDir(dataDir: string): string;
}

async function main(args: string[]): Promise<string> {
  const unknown = args.find((a) => a !== '--generate');
  if (unknown) throw new RotationError(`unknown argument ${unknown} (the only option is --generate)`);
  const dataDir = resolve(process.env.KEYVAULT_DATA_DIR ?? join(ROOT, '.data'));
  const secretsFile = join(dataDir, 'secrets.json');
  const generate = args.includes('--generate') || (!process.env.KEYVAULT_MASTER_KEY && existsSync(secretsFile));
  return generate ? rotateEmbeddedSetup(dataDir, secretsFile) : rotateFromEnvironment();
}

async function rotateFromEnvironment(): Promise<string> {
  // The proxy's settings are exactly the database and the master keys, validated the same way.
  const config = loadProxyConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    KEYVAULT_MASTER_KEY: process.env.KEYVAULT_MASTER_KEY,
    KEYVAULT_PREVIOUS_MASTER_KEYS: process.env.KEYVAULT_PREVIOUS_MASTER_KEYS,
  });
  return rewrap(config.DATABASE_URL, new MasterKeyring(config.KEYVAULT_MASTER_KEY, config.KEYVAULT_PREVIOUS_MASTER_KEYS));
}

async function rotateEmbeddedSetup(dataDir: string, secretsFile: string): Promise<string> {
  if (!existsSync(secretsFile)) {
    throw new RotationError(`--generate rotates the key of \`npm start\`'s setup, but ${secretsFile} does not exist`);
  }
  const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string | undefined>;
  const current = secrets.KEYVAULT_MASTER_KEY;
  const previous = (secrets.KEYVAULT_PREVIOUS_MASTER_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  for (const key of [current, ...previous]) {
    if (!isMasterKey(key)) throw new RotationError(`${secretsFile} holds a master key that is not 32 bytes of base64`);
  }
  const embedded = process.env.DATABASE_URL ? null : await embeddedPostgres(dataDir);

  // The new key is saved before anything is wrapped under it, with every former key kept, so a
  // failure at any later point loses nothing: `npm start` still opens everything.
  const next = randomBytes(32).toString('base64');
  const kept = [current!, ...previous.filter((k) => k !== current)];
  writeSecrets(secretsFile, { ...secrets, KEYVAULT_MASTER_KEY: next, KEYVAULT_PREVIOUS_MASTER_KEYS: kept.join(',') });
  const keyring = new MasterKeyring(next, kept);

  if (!embedded) return rewrap(process.env.DATABASE_URL!, keyring);
  const pg = await embedded.startEmbeddedPostgres(dataDir, secrets.EMBEDDED_PG_PASSWORD ?? '');
  try {
    return await rewrap(pg.url, keyring);
  } finally {
    await pg.pg.stop();
  }
}

/** The embedded database, which must exist and must not be in use by a running Keyvault. */
async function embeddedPostgres(dataDir: string): Promise<EmbeddedPostgresModule> {
  const mod = (await import(pathToFileURL(join(ROOT, 'scripts/embedded-postgres.mjs')).href)) as EmbeddedPostgresModule;
  // under ./.data/pg, or elsewhere when the server's user cannot reach it (see the script)
  const cluster = mod.embeddedClusterDir(dataDir);
  if (!existsSync(join(cluster, 'PG_VERSION'))) {
    throw new RotationError(`there is no embedded database under ${cluster}: set DATABASE_URL`);
  }
  if (await listening(mod.embeddedPort())) {
    throw new RotationError('Keyvault is running: stop `npm start` first (the api and proxy learn a new master key only when they start), then run this again');
  }
  return mod;
}

async function rewrap(databaseUrl: string, keyring: MasterKeyring): Promise<string> {
  const db = new Client({ connectionString: databaseUrl, application_name: 'keyvault-rotate-master-key', connectionTimeoutMillis: 15_000 });
  await db.connect();
  try {
    const { rewrapped, failures } = await rewrapUnderCurrentMasterKey(db, keyring);
    const parts = Object.entries(rewrapped).map(([label, n]) => `${n} ${label}`);
    const counts = `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
    if (failures.length > 0) {
      throw new RotationError(`${failures.length} row(s) could not be re-wrapped (first: ${failures[0]}); re-wrapped ${counts}`);
    }
    return `re-wrapped ${counts} under master key ${keyring.currentId}`;
  } finally {
    await db.end();
  }
}

function isMasterKey(v: string | undefined): boolean {
  return typeof v === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32;
}

/** Written whole, then renamed over the old file, so a crash never leaves half a secrets file. */
function writeSecrets(file: string, secrets: Record<string, string | undefined>): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  renameSync(tmp, file);
}

function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (line) => process.stdout.write(`master key rotation: ${line}\n`),
    (err: Error) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(78);
      }
      process.stderr.write(`master key rotation failed: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
      process.exit(1);
    },
  );
}
