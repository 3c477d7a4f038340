import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { type DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * Runs `text` as a named prepared statement on the pool behind `db`: each pooled connection
 * parses and plans it once, later calls only bind and execute. Measured on the issuance path
 * (bench/run.mjs), parsing and planning were half of Postgres's CPU per request; this is for the
 * few statements every hot request runs, not for ad-hoc SQL. `name` must stay unique to `text`
 * across the process. Errors come back wrapped as TypeORM's, as `db.query` would throw them.
 * Given a transaction's manager (withTenant), it runs on that transaction's connection.
 */
export async function preparedQuery<R extends QueryResultRow>(db: DataSource | EntityManager, name: string, text: string, values: unknown[]): Promise<R[]> {
  const manager = 'queryRunner' in db ? db : undefined;
  const on: Pool | PoolClient =
    ((manager?.queryRunner as unknown as { databaseConnection?: PoolClient } | undefined)?.databaseConnection) ??
    (((manager?.connection ?? (db as DataSource)).driver as PostgresDriver).master as Pool);
  try {
    return (await on.query<R>({ name, text, values })).rows;
  } catch (e) {
    throw new QueryFailedError(text, values, e as Error);
  }
}
