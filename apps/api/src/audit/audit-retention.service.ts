import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ApiConfig } from '@keyvault/config';
import { ID_PREFIXES, newId, type IdKind } from '@keyvault/crypto';
import { acrossTenants } from '@keyvault/db';
import { API_CONFIG } from '../config.providers';

/** Arbitrary constant: the advisory lock that lets one api instance prune at a time. */
const RETENTION_LOCK = 4_815_162_343;
/** Rows per DELETE: short statements, so pruning never holds locks or bloats WAL in one go. */
const BATCH_ROWS = 5000;
/** The first run after start comes at most this soon, so frequent restarts still prune. */
const FIRST_RUN_MAX_DELAY_MS = 60_000;
const DAY_MS = 86_400_000;

export interface PruneResult {
  audit: number;
  deliveries: number;
  events: number;
}

/** The smallest id of a kind created at `ms` (ids are time-ordered, compared bytewise). */
const idBound = (kind: IdKind, ms: number) => newId(kind, ms).slice(0, ID_PREFIXES[kind].length + 10);

/**
 * Deletes audit rows older than KEYVAULT_AUDIT_RETENTION_DAYS, and finished webhook deliveries
 * and events older than the same horizon, in batches bounded by id, on an interval. Every api
 * instance runs the timer; a session advisory lock makes only one of them prune at a time.
 */
@Injectable()
export class AuditRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditRetentionService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopping = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  onApplicationBootstrap(): void {
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

  /** One pass. Returns what it deleted, or null when another instance holds the lock. */
  async pruneOnce(now = Date.now()): Promise<PruneResult | null> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }]: { locked: boolean }[] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [RETENTION_LOCK]);
      if (!locked) return null;
      try {
        const horizon = now - this.config.KEYVAULT_AUDIT_RETENTION_DAYS * DAY_MS;
        const audit = await this.deleteInBatches('audit_log', 'id < $1', [idBound('audit', horizon)]);
        // captured calls go with their audit rows (keyed by the audit id, no foreign key)
        await this.asWorker('DELETE FROM audit_captures WHERE audit_id < $1', [idBound('audit', horizon)]);
        const deliveries = await this.deleteInBatches('webhook_deliveries', "id < $1 AND status <> 'pending'", [
          idBound('webhookDelivery', horizon),
        ]);
        // The attempts of the deliveries just deleted (history goes with what it is the history of).
        await this.asWorker(
          `DELETE FROM webhook_delivery_attempts a
            WHERE a.delivery_id < $1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = a.delivery_id)`,
          [idBound('webhookDelivery', horizon)],
        );
        // An event still owed to a webhook stays, however old: the worker needs its payload.
        const events = await this.deleteInBatches(
          'webhook_events',
          "id < $1 AND id NOT IN (SELECT event_id FROM webhook_deliveries WHERE status = 'pending')",
          [idBound('webhookEvent', horizon)],
        );
        return { audit, deliveries, events };
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
        if (r && r.audit + r.deliveries + r.events > 0) this.logger.log({ pruned: r }, 'retention pass');
      })
      .catch((err: Error) => this.logger.error({ err: { name: err.name, message: err.message } }, 'retention pass failed'))
      .finally(() => {
        this.running = null;
      });
  }

  /**
   * Retention spans tenants by nature: each statement runs as keyvault_worker, in its own
   * transaction (the advisory lock stays on the runner's session).
   */
  private asWorker<T>(sql: string, params: unknown[]): Promise<T> {
    return acrossTenants(this.db, 'retention', (m) => m.query(sql, params));
  }

  private async deleteInBatches(table: string, where: string, params: unknown[]): Promise<number> {
    let total = 0;
    for (;;) {
      const [, affected]: [unknown, number] = await this.asWorker(
        `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${where} ORDER BY id LIMIT ${BATCH_ROWS})`,
        params,
      );
      total += affected;
      if (affected < BATCH_ROWS || this.stopping) return total;
    }
  }
}
