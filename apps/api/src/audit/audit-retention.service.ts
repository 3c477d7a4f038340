import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter } from 'prom-client';
import { DataSource, type QueryRunner } from 'typeorm';
import type { ApiConfig } from '@keyvault/config';
import { idFloor } from '@keyvault/crypto';
import { acrossTenants, dataSourceOptions } from '@keyvault/db';
import { MetricsRegistry } from '@keyvault/observability';
import { API_CONFIG } from '../config.providers';
import { DAY_MS, utcMidnight } from '@keyvault/policy';
import { dropPartition, ensurePartitions, partitionsBefore, type DroppedPartition } from './audit-partitions';

/** Arbitrary constant: the advisory lock that lets one api instance prune at a time. */
const RETENTION_LOCK = 4_815_162_343;
/** A call's record this old whose call has its audit row is left over (see pruneOnce); calls in flight have none. */
const ORPHAN_RECORD_AGE_MS = 60 * 60 * 1000;
/** Rows per DELETE: short statements, so pruning never holds locks or bloats WAL in one go. */
const BATCH_ROWS = 5000;
/** The first run after start comes at most this soon, so frequent restarts still prune. */
const FIRST_RUN_MAX_DELAY_MS = 60_000;

export interface PruneResult {
  /** audit rows expired: those of the dropped partitions and those deleted from the default partition */
  audit: number;
  /** the day partitions dropped whole */
  partitions: DroppedPartition[];
  deliveries: number;
  events: number;
}


/**
 * Keeps the audit table's day partitions and enforces KEYVAULT_AUDIT_RETENTION_DAYS, on an
 * interval. Every api instance runs the timer; a session advisory lock makes only one of them
 * work at a time. A pass creates the partitions of the days ahead (and of any day the default
 * partition caught rows of), then drops whole the partitions whose day ended before the
 * retention horizon's day began: an audit row is kept at least the retention, and at most a day
 * longer. Captures, finished webhook deliveries and events older than the same day go by rows,
 * in batches bounded by id, as keyvault_worker.
 *
 * Creating and dropping partitions is schema work: it runs on a connection of its own as the
 * login that owns the tables (the one migrations run as), never as keyvault_api, which owns
 * nothing. That connection lives for one pass.
 */
@Injectable()
export class AuditRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditRetentionService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopping = false;
  private readonly droppedPartitions: Counter;
  private readonly expiredRows: Counter;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    metrics: MetricsRegistry,
  ) {
    this.droppedPartitions = new Counter({
      name: 'keyvault_audit_partitions_dropped_total',
      help: 'Audit day partitions dropped past retention',
      registers: [metrics.registry],
    });
    this.expiredRows = new Counter({
      name: 'keyvault_audit_rows_expired_total',
      help: 'Audit rows expired past retention (dropped with their partition or deleted from the default partition)',
      registers: [metrics.registry],
    });
  }

  /**
   * The partitions ahead are made at start too, before the api serves: a deployment whose api
   * was down for days gets its days back at once (rows of those days wait in the default
   * partition meanwhile, and move into their own with the next full pass).
   */
  async onApplicationBootstrap(): Promise<void> {
    try {
      const created = await this.asOwner((owner) => ensurePartitions(owner, Date.now(), Date.now()));
      if (created.length > 0) this.logger.log({ days: created }, 'audit partitions created');
    } catch (err) {
      this.logger.warn({ err: { name: (err as Error).name, message: (err as Error).message } }, 'audit partitions not created at start; the next pass retries');
    }
    const interval = this.config.KEYVAULT_AUDIT_PRUNE_INTERVAL_MS;
    this.timer = setTimeout(() => {
      this.tick();
      this.timer = setInterval(() => this.tick(), interval);
    }, Math.min(interval, FIRST_RUN_MAX_DELAY_MS));
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer); // clears an interval as well
    await this.running;
  }

  /** One pass. Returns what it expired, or null when another instance holds the lock. */
  async pruneOnce(now = Date.now()): Promise<PruneResult | null> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }]: { locked: boolean }[] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [RETENTION_LOCK]);
      if (!locked) return null;
      try {
        // rows go by whole UTC days: those of days that ended before the horizon's day began
        const horizon = utcMidnight(now - this.config.KEYVAULT_AUDIT_RETENTION_DAYS * DAY_MS);
        const partitions = await this.asOwner(async (owner) => {
          const created = await ensurePartitions(owner, now, horizon);
          if (created.length > 0) this.logger.log({ days: created }, 'audit partitions created');
          return this.dropPartitions(owner, horizon);
        });
        // what the default partition caught of expired days (no partition was made for them)
        const strays = await this.deleteInBatches(
          'audit_log',
          `created_at < $1 AND tableoid = 'audit_log_default'::regclass`,
          [new Date(horizon)],
          { key: ['id', 'created_at'], outer: 'created_at < $1' },
        );
        const audit = partitions.reduce((n, p) => n + p.rows, strays);
        this.expiredRows.inc(audit);
        // a call's record whose INSERT committed after its call was already refused for it: the
        // call has its audit row, and no reconciliation of a live lease will remove the record
        await this.asWorker(
          `DELETE FROM call_records c WHERE c.created_at < $1
              AND EXISTS (SELECT 1 FROM audit_log a WHERE a.id = c.id AND a.created_at = c.created_at)`,
          [new Date(now - ORPHAN_RECORD_AGE_MS)],
        );
        // captured calls go with their audit rows (keyed by the audit id, no foreign key)
        await this.asWorker('DELETE FROM audit_captures WHERE audit_id < $1', [idFloor('audit', horizon)]);
        const deliveries = await this.deleteInBatches('webhook_deliveries', "id < $1 AND status <> 'pending'", [
          idFloor('webhookDelivery', horizon),
        ]);
        // The attempts of the deliveries just deleted (history goes with what it is the history of).
        await this.asWorker(
          `DELETE FROM webhook_delivery_attempts a
            WHERE a.delivery_id < $1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = a.delivery_id)`,
          [idFloor('webhookDelivery', horizon)],
        );
        // An event still owed to a webhook stays, however old: the worker needs its payload.
        const events = await this.deleteInBatches(
          'webhook_events',
          "id < $1 AND id NOT IN (SELECT event_id FROM webhook_deliveries WHERE status = 'pending')",
          [idFloor('webhookEvent', horizon)],
        );
        return { audit, partitions, deliveries, events };
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]);
      }
    } finally {
      await runner.release();
    }
  }

  private tick(): void {
    if (this.running || this.stopping) return;
    this.running = this.pruneOnce()
      .then((r) => {
        if (r && r.audit + r.deliveries + r.events > 0) {
          this.logger.log({ pruned: { audit: r.audit, partitions: r.partitions.length, deliveries: r.deliveries, events: r.events } }, 'retention pass');
        }
      })
      .catch((err: Error) => this.logger.error({ err: { name: err.name, message: err.message } }, 'retention pass failed'))
      .finally(() => {
        this.running = null;
      });
  }

  /**
   * Drops the partitions of expired days, oldest first. One that cannot get its lock in time
   * (a long export reads it) stays until the next pass; the others go.
   */
  private async dropPartitions(owner: QueryRunner, before: number): Promise<DroppedPartition[]> {
    const dropped: DroppedPartition[] = [];
    for (const p of await partitionsBefore(owner, before)) {
      if (this.stopping) break;
      try {
        const d = await dropPartition(owner, p);
        dropped.push(d);
        this.droppedPartitions.inc();
        this.logger.log({ partition: d.name, day: d.day, rows: d.rows }, 'audit partition dropped past retention');
      } catch (err) {
        this.logger.warn({ partition: p.name, err: { name: (err as Error).name, message: (err as Error).message } }, 'audit partition not dropped; the next pass retries');
      }
    }
    return dropped;
  }

  /** Runs `work` on a connection of its own as the tables' owner (the migrations' login), closed after. */
  private async asOwner<T>(work: (owner: QueryRunner) => Promise<T>): Promise<T> {
    const options = dataSourceOptions({ url: this.config.DATABASE_URL, poolSize: 1, applicationName: 'keyvault-audit-partitions' });
    // without the request path's query timeout: a partition that moves in a week of rows the
    // default partition caught (the api was down) takes longer than any request should
    const source = await new DataSource({ ...options, entities: [], extra: { ...(options.extra as object), query_timeout: undefined } }).initialize();
    const owner = source.createQueryRunner();
    try {
      await owner.connect();
      return await work(owner);
    } finally {
      await owner.release();
      await source.destroy();
    }
  }

  /**
   * Retention spans tenants by nature: each statement runs as keyvault_worker, in its own
   * transaction (the advisory lock stays on the runner's session).
   */
  private asWorker<T>(sql: string, params: unknown[]): Promise<T> {
    return acrossTenants(this.db, 'retention', (m) => m.query(sql, params));
  }

  /**
   * Deletes the rows `where` matches, BATCH_ROWS at a time. `key`: what names a row (the audit
   * table's is (id, created_at)); `outer`: a condition the delete itself may also be bounded by
   * (on the audit table, the created_at range that keeps it to the partitions in question).
   */
  private async deleteInBatches(table: string, where: string, params: unknown[], opts: { key?: string[]; outer?: string } = {}): Promise<number> {
    const columns = (opts.key ?? ['id']).join(', ');
    const key = opts.key && opts.key.length > 1 ? `(${columns})` : columns;
    let total = 0;
    for (;;) {
      const [, affected]: [unknown, number] = await this.asWorker(
        `DELETE FROM ${table} WHERE ${key} IN (SELECT ${columns} FROM ${table} WHERE ${where} ORDER BY id LIMIT ${BATCH_ROWS})${opts.outer ? ` AND ${opts.outer}` : ''}`,
        params,
      );
      total += affected;
      if (affected < BATCH_ROWS || this.stopping) return total;
    }
  }
}
