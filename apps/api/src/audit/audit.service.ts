import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { pipeline, type Readable } from 'node:stream';
import { Pool, type PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import { Counter } from 'prom-client';
import { DataSource, type EntityManager } from 'typeorm';
import type { ApiConfig } from '@keyvault/config';
import { aad, MasterKeyring, open, unwrapTenantDataKey } from '@keyvault/crypto';
import { API_ROLE, connectionStartupOptions, Tenant, TENANT_SETTING, withTenant } from '@keyvault/db';
import { KeyvaultError, notFound } from '@keyvault/errors';
import { MetricsRegistry } from '@keyvault/observability';
import { API_CONFIG } from '../config.providers';
import { exportEncoder } from './audit-export.format';
import { AUDIT_BY_ID, AUDIT_BY_ID_NEAR, AUDIT_COLUMNS, auditIdWindow, auditWhere, type AuditFilters, type AuditRow } from './audit-query';
import type { ExportFormat } from './dto/audit-filters.dto';

/**
 * Exports at once per api process. Each holds one connection of its own small pool for as long
 * as the client reads, so they can never starve the pool that serves requests.
 */
const EXPORT_CONCURRENCY = 4;
/** Rows the cursor fetches per round trip. */
const EXPORT_BATCH_ROWS = 500;

@Injectable()
export class AuditService implements OnModuleDestroy {
  private exportPool: Pool | null = null;
  private activeExports = 0;
  /** open export streams, ended at shutdown so the pool can close */
  private readonly exports = new Set<Readable>();
  private readonly exportedRows: Counter;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    metrics: MetricsRegistry,
    private readonly keyring: MasterKeyring,
  ) {
    this.exportedRows = new Counter({
      name: 'keyvault_audit_export_rows_total',
      help: 'Audit rows written to export responses',
      registers: [metrics.registry],
    });
  }

  /** One page, newest first, confined to the tenant by row-level security too (withTenant). */
  async list(tenantId: string, filters: AuditFilters, page: { limit: number; starting_after?: string }) {
    checkRange(filters);
    const { where, params } = auditWhere(tenantId, filters, page.starting_after);
    params.push(page.limit + 1);
    const rows: AuditRow[] = await withTenant(this.db, tenantId, (m) =>
      m.query(`SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE ${where} ORDER BY id DESC LIMIT $${params.length}`, params),
    );
    return { rows: rows.slice(0, page.limit), has_more: rows.length > page.limit };
  }

  /**
   * One row, with what the proxy captured of the call (keys with `capture` set), opened with the
   * tenant's data key here and nowhere else: the capture is in no list, export or log.
   */
  async get(tenantId: string, id: string): Promise<{ row: AuditRow; capture: unknown }> {
    return withTenant(this.db, tenantId, async (m) => {
      const row = await this.findOne(m, tenantId, id);
      if (!row) throw notFound('audit entry', id);
      const [sealed]: { sealed: Buffer }[] = await m.query('SELECT sealed FROM audit_captures WHERE tenant_id = $1 AND audit_id = $2', [tenantId, id]);
      if (!sealed) return { row, capture: null };
      const tenant = await m.getRepository(Tenant).findOneByOrFail({ id: tenantId });
      const dataKey = unwrapTenantDataKey(this.keyring, tenant);
      try {
        return { row, capture: JSON.parse(open(dataKey, sealed.sealed, aad.auditCapture(tenantId, id)).toString('utf8')) };
      } finally {
        dataKey.fill(0);
      }
    });
  }

  /**
   * The table is partitioned by day of created_at and an id is unique only with it: the row is
   * looked for in the partitions around the day its id was minted (the proxy mints both from the
   * same clock reading), then, only when not there, in all of them (a row written long after its
   * id was minted, or an id that names nothing).
   */
  private async findOne(m: EntityManager, tenantId: string, id: string): Promise<AuditRow | undefined> {
    const window = auditIdWindow(id);
    if (!window) return undefined;
    const [near]: AuditRow[] = await m.query(AUDIT_BY_ID_NEAR, [tenantId, id, ...window]);
    if (near) return near;
    const [anywhere]: AuditRow[] = await m.query(AUDIT_BY_ID, [tenantId, id]);
    return anywhere;
  }

  /**
   * Every matching row, newest first, as export bytes, read through a server-side cursor: only a
   * batch of rows is in memory at a time, and the cursor advances only as fast as the stream is
   * read. The connection goes back when the stream ends or is destroyed (client gone).
   */
  async export(tenantId: string, filters: AuditFilters, format: ExportFormat): Promise<Readable> {
    checkRange(filters);
    if (this.activeExports >= EXPORT_CONCURRENCY) {
      throw new KeyvaultError('too_many_exports', `At most ${EXPORT_CONCURRENCY} audit exports run at once; try again shortly.`).withHeaders({
        'Retry-After': '10',
      });
    }
    // Counted before the first await, so concurrent requests cannot all slip past the check.
    this.activeExports++;
    let client: PoolClient;
    try {
      client = await this.pool().connect();
    } catch (err) {
      this.activeExports--;
      throw err;
    }
    const { where, params } = auditWhere(tenantId, filters);
    try {
      // confined to the tenant as withTenant confines: the cursor reads inside this transaction
      await client.query('BEGIN READ ONLY');
      await client.query(`SELECT set_config($1, $2, true), set_config('role', $3, true)`, [TENANT_SETTING, tenantId, API_ROLE]);
    } catch (err) {
      this.activeExports--;
      client.release(err as Error);
      throw err;
    }
    const rows = client.query(
      new QueryStream(`SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE ${where} ORDER BY id DESC`, params, { batchSize: EXPORT_BATCH_ROWS }),
    );
    const body = pipeline(rows, exportEncoder(format, () => this.exportedRows.inc()), (err) => {
      this.activeExports--;
      this.exports.delete(body);
      // A cursor cut off mid-way may leave the session in an unknown state: drop that connection.
      if (err) client.release(err);
      else client.query('COMMIT').then(() => client.release(), (e: Error) => client.release(e));
    });
    this.exports.add(body);
    return body;
  }

  async onModuleDestroy(): Promise<void> {
    for (const body of this.exports) body.destroy();
    await this.exportPool?.end();
  }

  private pool(): Pool {
    if (!this.exportPool) {
      this.exportPool = new Pool({
        connectionString: this.config.DATABASE_URL,
        max: EXPORT_CONCURRENCY,
        application_name: 'keyvault-api-export',
        options: connectionStartupOptions(this.config.KEYVAULT_API_DB_ROLE),
        connectionTimeoutMillis: 3000,
        keepAlive: true,
      });
      // An idle connection cut by the server or the network is dropped by the pool; without a
      // listener its 'error' event would crash the process.
      this.exportPool.on('error', () => undefined);
    }
    return this.exportPool;
  }
}

function checkRange(f: AuditFilters): void {
  if (f.from !== undefined && f.to !== undefined && Date.parse(f.from) >= Date.parse(f.to)) {
    throw new KeyvaultError('parameter_invalid', 'to must be later than from.', 'to');
  }
}
