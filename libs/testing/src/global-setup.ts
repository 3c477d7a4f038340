import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { dataSourceOptions, runMigrations } from '@keyvault/db';
import { TEMPLATE_DB_ENV, TEST_SERVER_URL, testDatabaseName } from './database';
import { RUN_DIR_ENV, scanRunForSecrets } from './run-capture';

/**
 * Fails the run at once, with one clear line, when the test Postgres is not reachable. Makes
 * the run's capture dir and its migrated template database (worker processes inherit both
 * through the environment) and, once every test file has finished, drops the template and scans
 * all captured logs for every secret the tests created.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const c = new Client({ connectionString: TEST_SERVER_URL, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    // Leftovers of runs that were killed before their teardown
    const stale: { datname: string }[] = (
      await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'kv_test_%'`)
    ).rows;
    for (const { datname } of stale) {
      const age = Date.now() - parseInt(datname.split('_')[2], 36);
      if (age > 3_600_000) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
  } catch (err) {
    throw new Error(`Tests need PostgreSQL at ${TEST_SERVER_URL}: ${(err as Error).message}`);
  } finally {
    await c.end().catch(() => undefined);
  }

  const template = await createMigratedTemplate();
  process.env[TEMPLATE_DB_ENV] = template;
  const dir = mkdtempSync(join(tmpdir(), 'keyvault-test-run-'));
  process.env[RUN_DIR_ENV] = dir;
  return async () => {
    await dropDatabase(template);
    const scan = scanRunForSecrets(dir);
    const summary = `secret scan: ${scan.secrets} secrets created, ${scan.logLines} log lines in ${scan.logFiles} files, ${scan.hits.length} hits`;
    if (scan.hits.length === 0) {
      process.stdout.write(`\n${summary}\n`);
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    // A throw from a global teardown does not fail a vitest run; the exit code does.
    process.stderr.write(`\n${summary} (logs kept in ${dir}):\n`);
    for (const h of scan.hits.slice(0, 20)) process.stderr.write(`  ${h.file}: ${h.line.slice(0, 300)}\n`);
    process.exitCode = 1;
  };
}

/**
 * Every migration applied once, to a database that then takes no connections: Postgres copies a
 * template only while nobody is connected to it, and test files copy it concurrently.
 */
async function createMigratedTemplate(): Promise<string> {
  const name = testDatabaseName('template');
  const c = new Client({ connectionString: TEST_SERVER_URL });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
    const url = new URL(TEST_SERVER_URL);
    url.pathname = `/${name}`;
    await runMigrations(dataSourceOptions({ url: url.toString(), applicationName: 'keyvault-test-template' }));
    await c.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
  } finally {
    await c.end().catch(() => undefined);
  }
  return name;
}

async function dropDatabase(name: string): Promise<void> {
  const c = new Client({ connectionString: TEST_SERVER_URL });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end().catch(() => undefined);
  }
}
