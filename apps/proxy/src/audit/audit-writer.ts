import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { newId } from '@keyvault/crypto';
import { ProxyMetrics } from '../proxy-metrics';
import { ProxyStore } from '../store/proxy-store';

/** One proxied call, refused ones included. */
export interface AuditRecord {
  /** null when the caller could not be tied to a tenant (no or forged key) */
  tenantId: string | null;
  vaultKeyId: string | null;
  credentialId: string | null;
  /** the ck_ key that served the call */
  providerKeyId: string | null;
  vendor: string;
  method: string;
  /** the normalised vendor path, never the query */
  path: string;
  status: number;
  /** the refusal's error code, when Keyvault refused the call */
  errorCode: string | null;
  costMicros: bigint;
  durationMs: number;
  runId: string | null;
  conversationId: string | null;
}

const FLUSH_AFTER_MS = 50;
const MAX_ROWS_PER_INSERT = 200;
/** While the database is down, at most this many rows wait; beyond, the oldest are dropped (and counted). */
const MAX_BUFFERED = 20_000;
const MAX_RETRY_MS = 5_000;
const COLUMNS = 15;

/**
 * Writes audit rows in batches (one multi-row INSERT every ~50 ms or 200 rows), off the
 * request path. While the database is down the rows wait in a bounded buffer and the write is
 * retried with backoff; `drain` (clean shutdown) writes everything still buffered.
 */
@Injectable()
export class AuditWriter implements OnModuleDestroy {
  private readonly logger = new Logger('AuditWriter');
  private buffer: Array<{ id: string; at: Date; r: AuditRecord }> = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private retryMs = FLUSH_AFTER_MS;

  constructor(
    private readonly store: ProxyStore,
    private readonly metrics: ProxyMetrics,
  ) {}

  record(r: AuditRecord): void {
    this.buffer.push({ id: newId('audit'), at: new Date(), r });
    this.trim();
    if (this.buffer.length >= MAX_ROWS_PER_INSERT && !this.flushing) this.flushNow();
    else this.schedule(FLUSH_AFTER_MS);
  }

  /** Writes everything buffered; gives up (rows stay buffered) when the database stays down past the deadline. */
  async drain(deadlineMs = 5_000): Promise<void> {
    const until = Date.now() + deadlineMs;
    while ((this.buffer.length > 0 || this.flushing) && Date.now() < until) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await (this.flushing ?? this.flush());
      if (this.buffer.length > 0 && this.retryMs > FLUSH_AFTER_MS) await new Promise((r) => setTimeout(r, Math.min(this.retryMs, until - Date.now())));
    }
    if (this.buffer.length > 0) this.logger.error({ rows: this.buffer.length }, 'audit rows not written at shutdown: database unreachable');
  }

  onModuleDestroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushNow();
    }, ms);
    this.timer.unref();
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.flush();
  }

  private flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = null;
      this.metrics.auditBuffered.set(this.buffer.length);
      if (this.buffer.length > 0) this.schedule(this.retryMs);
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, MAX_ROWS_PER_INSERT);
      const params: unknown[] = [];
      const values = batch.map(({ id, at, r }, i) => {
        params.push(id, r.tenantId, r.vaultKeyId, r.credentialId, r.providerKeyId, r.vendor, r.method, r.path, r.status, r.errorCode,
          r.costMicros.toString(), r.durationMs, r.runId, r.conversationId, at);
        const o = i * COLUMNS;
        return `(${Array.from({ length: COLUMNS }, (_, c) => `$${o + c + 1}`).join(', ')})`;
      });
      try {
        await this.store.queryLazyCommit(
          'audit_insert',
          `INSERT INTO audit_log (id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
                                  error_code, cost_micros, duration_ms, run_id, conversation_id, created_at)
           VALUES ${values.join(', ')} ON CONFLICT (id) DO NOTHING`,
          params,
        );
      } catch {
        // back in front, oldest first; rows recorded meanwhile were appended behind them
        this.buffer.unshift(...batch);
        this.trim();
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
        return;
      }
      this.retryMs = FLUSH_AFTER_MS;
    }
  }

  private trim(): void {
    if (this.buffer.length <= MAX_BUFFERED) return;
    const dropped = this.buffer.length - MAX_BUFFERED;
    this.buffer.splice(0, dropped);
    this.metrics.auditDropped.inc(dropped);
  }
}
