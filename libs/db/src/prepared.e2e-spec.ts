import { DataSource, QueryFailedError } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@keyvault/testing';
import { dataSourceOptions } from './data-source-options';
import { preparedQuery } from './prepared';

describe('preparedQuery', () => {
  let db: TestDatabase;
  let ds: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase();
    // one pooled connection, so every call below lands on the same server session
    ds = await new DataSource(dataSourceOptions({ url: db.url, poolSize: 1 })).initialize();
    await ds.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
    await ds.query(`INSERT INTO notes VALUES (1, 'one'), (2, 'two')`);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('answers rows like db.query and prepares the statement once per connection', async () => {
    const text = 'SELECT id, body FROM notes WHERE id = $1';
    expect(await preparedQuery(ds, 'notes_by_id', text, [1])).toEqual([{ id: 1, body: 'one' }]);
    expect(await preparedQuery(ds, 'notes_by_id', text, [2])).toEqual([{ id: 2, body: 'two' }]);
    expect(await preparedQuery(ds, 'notes_by_id', text, [3])).toEqual([]);
    // the session holds one protocol-level prepared statement, however many calls it served
    const prepared: { statement: string; from_sql: boolean }[] = await ds.query(
      'SELECT statement, from_sql FROM pg_prepared_statements',
    );
    expect(prepared).toEqual([{ statement: text, from_sql: false }]);
  });

  it('throws what db.query throws: a QueryFailedError carrying the driver error and its code', async () => {
    const failure = await preparedQuery(ds, 'notes_insert', 'INSERT INTO notes VALUES ($1, $2)', [1, 'dup']).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueryFailedError);
    expect((failure as QueryFailedError & { driverError: { code: string } }).driverError.code).toBe('23505');
    // the failed call left nothing behind and the connection still serves
    expect(await preparedQuery(ds, 'notes_by_id', 'SELECT id, body FROM notes WHERE id = $1', [1])).toEqual([{ id: 1, body: 'one' }]);
  });
});
