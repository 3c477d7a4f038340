import { Client } from 'pg';
import { TEST_SERVER_URL } from './database';

/** Fails the run at once, with one clear line, when the test Postgres is not reachable. */
export default async function setup(): Promise<void> {
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
}
