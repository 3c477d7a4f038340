import type { Pool, QueryResultRow } from 'pg';
import { type DataSource, QueryFailedError } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * Runs `text` as a named prepared statement on the pool behind `db`: each pooled connection
 * parses and plans it once, later calls only bind and execute. Measured on the issuance path
 * (bench/run.mjs), parsing and planning were half of Postgres's CPU per request; this is for the
 * few statements every hot request runs, not for ad-hoc SQL. `name` must stay unique to `text`
 * across the process. Errors come back wrapped as TypeORM's, as `db.query` would throw them.
 */
export async function preparedQuery<R extends QueryResultRow>(db: DataSource, name: string, text: string, values: unknown[]): Promise<R[]> {
  const pool = (db.driver as PostgresDriver).master as Pool;
  try {
    return (await pool.query<R>({ name, text, values })).rows;
  } catch (e) {
    throw new QueryFailedError(text, values, e as Error);
  }
}
