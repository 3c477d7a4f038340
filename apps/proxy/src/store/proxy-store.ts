import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { ProxyConfig } from '@keyvault/config';
import { CHANNELS, connectionStartupOptions } from '@keyvault/db';
import { KeyvaultError } from '@keyvault/errors';
import { PROXY_CONFIG } from '../proxy.config';
import { ProxyMetrics } from '../proxy-metrics';
import { NotificationListener } from './notification-listener';

type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];

/**
 * Rows (non-empty, each as long as the first) as one array per column: the parameters of the
 * statements that unnest a batch of rows, one array parameter per column.
 */
export function columnsOf(rows: readonly unknown[][]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: rows[0].length }, () => new Array<unknown>(rows.length));
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    for (let c = 0; c < row.length; c++) columns[c][i] = row[c];
  }
  return columns;
}

/**
 * For the connections that run the hot statements under a name (records, outcomes, settlements),
 * all of which find their rows by key through arrays of parameters. Postgres plans such a
 * statement anew at every execution when its generic plan looks costlier than the custom ones
 * (an unnest of arrays is estimated at 10 rows, a real batch often has fewer): the outcome
 * statement took 2–3 ms of planning each time. A generic plan is made once per connection, so
 * it must not depend on how large audit_log was then: with sequential scans allowed, a plan made
 * while the table was small (a fresh deployment, or a server without autovacuum to analyze it
 * again) scans the whole table at every batch once it is large. Measured on a fresh table:
 * 655 µs of Postgres CPU per call with the defaults, 97 µs with these.
 */
const PLANNED_ONCE = '-c plan_cache_mode=force_generic_plan -c enable_seqscan=off';

/**
 * The proxy's only door to the database. Every statement goes through here and is counted
 * (keyvault_proxy_db_queries_total), so tests can prove which requests cost no query at all.
 * Any database failure surfaces as 503 vault_unavailable: the proxy fails closed.
 * It also owns the LISTEN connection that keeps every instance's caches true.
 */
@Injectable()
export class ProxyStore {
  private readonly logger = new Logger('ProxyStore');
  private readonly noticeHandlers = new Map<string, Array<(payload: string) => void>>();
  private readonly connectionHandlers: Array<(listening: boolean) => void> = [];
  private readonly listener: NotificationListener;
  /** connections for the statements that run many times a second under a name (see queryPrepared) */
  private readonly direct: Pool;
  /** connections for the calls' records, committed as KEYVAULT_CALL_RECORD_SYNCHRONOUS_COMMIT says (see queryRecord) */
  private readonly records: Pool;
  private lastErrorLog = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(PROXY_CONFIG) config: ProxyConfig,
    private readonly metrics: ProxyMetrics,
  ) {
    this.direct = new Pool({
      connectionString: config.DATABASE_URL,
      max: Math.max(2, Math.ceil(config.DATABASE_POOL_SIZE / 2)),
      // every money statement commits durably, whatever the server's default: see docs/budget-leases.md
      options: connectionStartupOptions(config.KEYVAULT_PROXY_DB_ROLE, '-c synchronous_commit=on', PLANNED_ONCE),
      application_name: 'keyvault-proxy-direct',
      connectionTimeoutMillis: 1_000,
      query_timeout: 5_000,
      keepAlive: true,
    });
    // an idle connection cut by the server or the network must not crash the process
    this.direct.on('error', () => undefined);
    this.records = new Pool({
      connectionString: config.DATABASE_URL,
      max: Math.max(2, Math.ceil(config.DATABASE_POOL_SIZE / 4)),
      // the call records are the proxy's writes too: the same role as every other statement of it
      options: connectionStartupOptions(config.KEYVAULT_PROXY_DB_ROLE, `-c synchronous_commit=${config.KEYVAULT_CALL_RECORD_SYNCHRONOUS_COMMIT}`, PLANNED_ONCE),
      application_name: 'keyvault-proxy-records',
      connectionTimeoutMillis: 1_000,
      query_timeout: 5_000,
      keepAlive: true,
    });
    this.records.on('error', () => undefined);
    this.listener = new NotificationListener(
      config.DATABASE_URL,
      Object.values(CHANNELS),
      {
        notice: (channel, payload) => {
          for (const h of this.noticeHandlers.get(channel) ?? []) h(payload);
        },
        connection: (listening) => {
          for (const h of this.connectionHandlers) h(listening);
        },
      },
      () => this.metrics.dbQueries.inc({ op: 'listen' }),
    );
  }

  /** Rows of one statement (for UPDATE/DELETE too). */
  async query<T>(op: string, sql: string, params: unknown[] = []): Promise<T[]> {
    this.metrics.dbQueries.inc({ op });
    try {
      const result: unknown = await this.db.query(sql, params);
      // TypeORM answers [rows, rowCount] for UPDATE and DELETE, rows for everything else
      return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
    } catch (err) {
      throw this.unavailable(op, err);
    }
  }

  /**
   * One statement the process runs often, parsed once per connection under the name `op` (call
   * records, their outcomes, lease settlements), on the proxy's own pool. Its commit waits for
   * the WAL flush (synchronous_commit=on): what it answers has been made durable.
   */
  async queryPrepared<T>(op: string, sql: string, params: unknown[] = []): Promise<T[]> {
    this.metrics.dbQueries.inc({ op });
    try {
      return (await this.direct.query({ name: op, text: sql, values: params })).rows as T[];
    } catch (err) {
      throw this.unavailable(op, err);
    }
  }

  /**
   * The calls' records (CallRecorder), on their own connections, committed as
   * KEYVAULT_CALL_RECORD_SYNCHRONOUS_COMMIT says: the one statement a call waits for. Counted
   * under `op`, prepared once per connection under `statement.name` (one op, several shapes).
   */
  async queryRecord<T>(op: string, statement: { name: string; text: string }, params: unknown[] = []): Promise<T[]> {
    this.metrics.dbQueries.inc({ op });
    try {
      return (await this.records.query({ ...statement, values: params })).rows as T[];
    } catch (err) {
      throw this.unavailable(op, err);
    }
  }

  async transaction<T>(op: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    this.metrics.dbQueries.inc({ op });
    try {
      return await this.db.transaction(work);
    } catch (err) {
      throw this.unavailable(op, err);
    }
  }

  onNotice(channel: Channel, handler: (payload: string) => void): void {
    this.noticeHandlers.set(channel, [...(this.noticeHandlers.get(channel) ?? []), handler]);
  }

  /** Called with false when notices may have been missed, and with true once listening again. */
  onListenerChange(handler: (listening: boolean) => void): void {
    this.connectionHandlers.push(handler);
  }

  /** True while notices are being received, i.e. while caches can be trusted. */
  get listening(): boolean {
    return this.listener.listening;
  }

  startListening(): Promise<void> {
    return this.listener.start();
  }

  /** Stops listening and closes the store's own connections (the DataSource closes with the app). */
  async close(): Promise<void> {
    await this.listener.stop();
    await this.direct.end().catch(() => undefined);
    await this.records.end().catch(() => undefined);
  }

  private unavailable(op: string, err: unknown): KeyvaultError {
    if (err instanceof KeyvaultError) return err;
    // One line per few seconds: an outage must not flood the log.
    const now = Date.now();
    if (now - this.lastErrorLog > 5_000) {
      this.lastErrorLog = now;
      this.logger.warn({ op, err: { message: (err as Error)?.message } }, 'database unavailable; failing closed');
    }
    return new KeyvaultError('vault_unavailable', 'The vault database is unreachable; nothing was forwarded.');
  }
}
