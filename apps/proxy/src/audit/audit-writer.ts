import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { newId } from '@keyvault/crypto';
import { ProxyMetrics } from '../proxy-metrics';
import { ProxyStore } from '../store/proxy-store';

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
   * Postgres acknowledged it): its row's id and created_at (ms since the epoch), and what to do
   * once the outcome is written too.
   */
  record?: { id: string; at: number; onOutcome: () => void };
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
 * Books the outcomes of recorded calls (CallRecorder) in one statement per batch: a row gets its
 * status, cost, duration and provider key by (id, created_at), unless a reconciliation marked it
 * `interrupted` meanwhile (its lease was settled at the call's worst case: the row keeps saying
 * so, as the spend does). Answers the ids of the rows that are not there at all (the record's
 * INSERT failed after all, or a Postgres crash took back a record committed without waiting for
 * the WAL flush): those are inserted whole by INSERT_OUTCOMES. Only the columns an outcome
 * changes are sent: parsing and unnesting the other nine cost Postgres and the proxy more than
 * the update itself for every call, for a row missing once in a blue moon. One array per
 * column: the statement text never changes (prepared once per connection). The audit table is
 * partitioned by day of created_at: the batch's created_at range (redundant with the join) lets
 * Postgres open only the day partitions the batch falls in, not a month of them.
 */
export const BOOK_OUTCOMES = `
  WITH r AS (
    SELECT id, provider_key_id, status, error_code, cost_nanos, duration_ms, to_timestamp(at_ms / 1000.0) AS created_at
      FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::int[], $7::float8[])
           AS r(id, provider_key_id, status, error_code, cost_nanos, duration_ms, at_ms)
  ), u AS (
    UPDATE audit_log a
       SET status = r.status, error_code = r.error_code, cost_nanos = r.cost_nanos, duration_ms = r.duration_ms,
           provider_key_id = r.provider_key_id
      FROM r
     WHERE a.id = r.id AND a.created_at = r.created_at AND a.status = 0 AND a.error_code IS NULL
       AND a.created_at BETWEEN (SELECT min(created_at) FROM r) AND (SELECT max(created_at) FROM r)
    RETURNING a.id
  )
  SELECT r.id FROM r
   WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.id = r.id)
     AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.id = r.id AND a.created_at = r.created_at)`;

/**
 * Inserts whole rows: refused calls (never recorded) and recorded calls whose row is missing
 * (BOOK_OUTCOMES). A row a late record INSERT committed in between is left as it is: its
 * outcome goes on it at the next batch (the row stays buffered until then, see `write`).
 */
export const INSERT_OUTCOMES = `
  INSERT INTO audit_log (id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
                         error_code, cost_nanos, duration_ms, run_id, conversation_id, created_at)
  SELECT id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
         error_code, cost_nanos, duration_ms, run_id, conversation_id, to_timestamp(at_ms / 1000.0)
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                $9::int[], $10::text[], $11::bigint[], $12::int[], $13::text[], $14::text[], $15::float8[])
         AS r(id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status,
              error_code, cost_nanos, duration_ms, run_id, conversation_id, at_ms)
  ON CONFLICT DO NOTHING
  RETURNING id`;

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
      let missing: Row[];
      try {
        missing = await this.book(batch.filter((b) => b.r.record));
        const unrecorded = batch.filter((b) => !b.r.record);
        const inserted = await this.insert([...unrecorded, ...missing]);
        // a recorded row that a late INSERT put there in between: its outcome goes on it at the next flush
        missing = missing.filter((b) => !inserted.has(b.id));
        this.buffer.unshift(...missing);
      } catch {
        // back in front, oldest first; rows recorded meanwhile were appended behind them
        this.buffer.unshift(...batch);
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
        return;
      }
      this.retryMs = FLUSH_AFTER_MS;
      for (const b of batch) if (!missing.includes(b)) b.r.record?.onOutcome();
      if (missing.length > 0) return;
      // a short batch waits FLUSH_AFTER_MS for more (flush's finally schedules it): written at
      // once, a statement took the ~13 rows that came while the last one was out, and Postgres
      // spent ~3× the CPU per row it spends on 100 (measured at 50 connections)
      if (this.buffer.length < MAX_ROWS_PER_STATEMENT) return;
    }
  }

  /** Books recorded calls' outcomes on their rows; returns those whose row is not there. */
  private async book(rows: Row[]): Promise<Row[]> {
    if (rows.length === 0) return [];
    const columns: unknown[][] = Array.from({ length: 7 }, () => new Array<unknown>(rows.length));
    for (let i = 0; i < rows.length; i++) {
      const { id, at, r } = rows[i];
      columns[0][i] = id;
      columns[1][i] = r.providerKeyId;
      columns[2][i] = r.status;
      columns[3][i] = r.errorCode;
      columns[4][i] = r.costNanos.toString();
      columns[5][i] = r.durationMs;
      columns[6][i] = at;
    }
    const absent = await this.store.queryPrepared<{ id: string }>('audit_outcome', BOOK_OUTCOMES, columns);
    if (absent.length === 0) return [];
    const ids = new Set(absent.map((a) => a.id));
    return rows.filter((b) => ids.has(b.id));
  }

  /** Inserts whole rows; returns the ids inserted (a row already there is left as it is). */
  private async insert(rows: Row[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const columns: unknown[][] = Array.from({ length: 15 }, () => new Array<unknown>(rows.length));
    rows.forEach(({ id, at, r }, i) => {
      const row = [id, r.tenantId, r.vaultKeyId, r.credentialId, r.providerKeyId, r.vendor, r.method, r.path, r.status, r.errorCode,
        r.costNanos.toString(), r.durationMs, r.runId, r.conversationId, at];
      for (let c = 0; c < row.length; c++) columns[c][i] = row[c];
    });
    const inserted = await this.store.queryPrepared<{ id: string }>('audit_insert', INSERT_OUTCOMES, columns);
    return new Set(inserted.map((x) => x.id));
  }
}
