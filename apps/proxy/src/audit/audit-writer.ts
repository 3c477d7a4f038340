import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { newId } from '@keyvault/crypto';
import type { CallHold } from '../ledger/budgets';
import { ProxyMetrics } from '../proxy-metrics';
import { columnsOf, ProxyStore } from '../store/proxy-store';

/** One proxied call, refused ones included. */
export interface AuditRecord {
  /** the row's id when the call needed it before it ended (a duplicate claim names it); new otherwise */
  id?: string;
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
  /**
   * Set by CallRecorder when the call's record was sent before forwarding (whether or not
   * Postgres acknowledged it): its id and created_at (ms since the epoch), what it drew on (its
   * audit row names the leases, for reconciliations), and what to do once the outcome is written too.
   */
  record?: { id: string; at: number; hold: CallHold; onOutcome: () => void };
}

/** A buffered row: `at` is when it was created, in ms since the epoch. */
interface Row {
  id: string;
  at: number;
  r: AuditRecord;
}

const FLUSH_AFTER_MS = 50;
const MAX_ROWS_PER_STATEMENT = 200;
const MAX_RETRY_MS = 5_000;

/**
 * Writes calls' audit rows whole, refused and recorded calls alike, and removes the recorded
 * calls' records (call_records) in the same statement: from its commit on, a reconciliation of
 * the call's lease counts the row's cost, before it the record's worst case. A row already there
 * is one a reconciliation wrote (`interrupted`: the lease was settled at the call's worst case,
 * and the row keeps saying so, as the spend does): it is left as it is. One array per column: the
 * statement text never changes (prepared once per connection).
 */
export const WRITE_OUTCOMES = `
  WITH done AS (DELETE FROM call_records WHERE id = ANY($1::text[]))
  INSERT INTO audit_log (id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
                         error_code, cost_nanos, duration_ms, run_id, conversation_id, lease_id, reserved_nanos, budget_lease_ids, created_at)
  SELECT id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
         error_code, cost_nanos, duration_ms, run_id, conversation_id, lease_id, reserved_nanos,
         CASE WHEN budget_leases = '' THEN NULL ELSE string_to_array(budget_leases, ',') END, to_timestamp(at_ms / 1000.0)
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                $9::int[], $10::text[], $11::bigint[], $12::int[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[],
                $18::float8[])
         AS r(id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
              error_code, cost_nanos, duration_ms, run_id, conversation_id, lease_id, reserved_nanos, budget_leases, at_ms)
  ON CONFLICT DO NOTHING`;

/**
 * Writes calls' outcomes in batches (one statement every ~50 ms or 200 rows), off the request
 * path; only then is a recorded call's cost booked on its lease (onOutcome), so a lease never
 * books a call whose row still says it is in flight. While the database is down the rows wait
 * and the write is retried with backoff; no row that carries a vault key is ever dropped.
 * Unauthenticated refusals (no key, a forged one, the database unreachable before the key was
 * known) are counted in keyvault_proxy_unauthenticated_refusals_total, not written one row
 * each: they cannot crowd out the rows of paid calls. `drain` (clean shutdown) writes
 * everything still buffered.
 */
@Injectable()
export class AuditWriter implements OnModuleDestroy {
  private readonly logger = new Logger('AuditWriter');
  private buffer: Row[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private retryMs = FLUSH_AFTER_MS;

  constructor(
    private readonly store: ProxyStore,
    private readonly metrics: ProxyMetrics,
  ) {}

  /** Buffers the row and returns its id (a capture of the call is keyed by it), or null when no row is kept. */
  record(r: AuditRecord): string | null {
    if (r.tenantId === null && !r.record) {
      this.metrics.unauthenticatedRefusals.inc({ code: r.errorCode ?? 'unknown' });
      return null;
    }
    const at = r.record?.at ?? Date.now();
    const id = r.record?.id ?? r.id ?? newId('audit', at);
    this.buffer.push({ id, at, r });
    if (this.buffer.length >= MAX_ROWS_PER_STATEMENT && !this.flushing) this.flushNow();
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
      const batch = this.buffer.splice(0, MAX_ROWS_PER_STATEMENT);
      try {
        await this.insert(batch);
      } catch {
        // back in front, oldest first; rows recorded meanwhile were appended behind them
        this.buffer.unshift(...batch);
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
        return;
      }
      this.retryMs = FLUSH_AFTER_MS;
      for (const b of batch) b.r.record?.onOutcome();
      // a short batch waits FLUSH_AFTER_MS for more (flush's finally schedules it): written at
      // once, a statement took the ~13 rows that came while the last one was out, and Postgres
      // spent ~3× the CPU per row it spends on 100 (measured at 50 connections)
      if (this.buffer.length < MAX_ROWS_PER_STATEMENT) return;
    }
  }

  private async insert(rows: Row[]): Promise<void> {
    const columns = columnsOf(
      rows.map(({ id, at, r }) => {
        const hold = r.record?.hold;
        return [id, r.tenantId, r.vaultKeyId, r.credentialId, r.providerKeyId, r.vendor, r.method, r.path, r.status, r.errorCode,
          r.costNanos.toString(), r.durationMs, r.runId, r.conversationId, hold?.leaseId ?? null, hold ? hold.amountNanos.toString() : null,
          hold?.budgetLeaseIds?.join(',') ?? '', at];
      }),
    );
    await this.store.queryPrepared('audit_outcome', WRITE_OUTCOMES, columns);
  }
}
