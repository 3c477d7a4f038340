import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { TEST_SERVER_URL } from './database';
import { RUN_DIR_ENV, scanRunForSecrets } from './run-capture';

/**
 * Fails the run at once, with one clear line, when the test Postgres is not reachable. Makes
 * the run's capture dir (worker processes inherit its path through the environment) and, once
 * every test file has finished, scans all captured logs for every secret the tests created.
 */
export default async function setup(): Promise<() => void> {
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

  const dir = mkdtempSync(join(tmpdir(), 'keyvault-test-run-'));
  process.env[RUN_DIR_ENV] = dir;
  return () => {
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
