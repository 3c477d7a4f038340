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
  costNanos: bigint;
  durationMs: number;
  runId: string | null;
  conversationId: string | null;
}

const FLUSH_AFTER_MS = 50;
const MAX_ROWS_PER_INSERT = 200;
/** While the database is down, at most this many rows wait; beyond, the oldest are dropped (and counted). */
const MAX_BUFFERED = 20_000;
const MAX_RETRY_MS = 5_000;
/**
 * One array per column: the statement text never changes (prepared once per connection), and
 * its parameters cost about half the client CPU of one placeholder per value.
 */
const INSERT_ROWS = `
  INSERT INTO audit_log (id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
                         error_code, cost_nanos, duration_ms, run_id, conversation_id, created_at)
  SELECT id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
         error_code, cost_nanos, duration_ms, run_id, conversation_id, to_timestamp(at_ms / 1000.0)
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                $9::int[], $10::text[], $11::bigint[], $12::int[], $13::text[], $14::text[], $15::float8[])
         AS r(id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
              error_code, cost_nanos, duration_ms, run_id, conversation_id, at_ms)
  ON CONFLICT (id) DO NOTHING`;

/**
 * Writes audit rows in batches (one multi-row INSERT every ~50 ms or 200 rows), off the
 * request path. While the database is down the rows wait in a bounded buffer and the write is
 * retried with backoff; `drain` (clean shutdown) writes everything still buffered.
 */
@Injectable()
export class AuditWriter implements OnModuleDestroy {
  private readonly logger = new Logger('AuditWriter');
  /** `at`: when the call ended, in ms since the epoch */
  private buffer: Array<{ id: string; at: number; r: AuditRecord }> = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private retryMs = FLUSH_AFTER_MS;

  constructor(
    private readonly store: ProxyStore,
    private readonly metrics: ProxyMetrics,
  ) {}

  /** Buffers the row and returns its id (a capture of the call is keyed by it). */
  record(r: AuditRecord): string {
    const at = Date.now();
    const id = newId('audit', at);
    this.buffer.push({ id, at, r });
    this.trim();
    if (this.buffer.length >= MAX_ROWS_PER_INSERT && !this.flushing) this.flushNow();
    else this.schedule(FLUSH_AFTER_MS);
    return id;
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
      const columns: unknown[][] = Array.from({ length: 15 }, () => new Array<unknown>(batch.length));
      batch.forEach(({ id, at, r }, i) => {
        const row = [id, r.tenantId, r.vaultKeyId, r.credentialId, r.providerKeyId, r.vendor, r.method, r.path, r.status, r.errorCode,
          r.costNanos.toString(), r.durationMs, r.runId, r.conversationId, at];
        for (let c = 0; c < row.length; c++) columns[c][i] = row[c];
      });
      try {
        await this.store.queryLazyCommit('audit_insert', INSERT_ROWS, columns, true);
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
