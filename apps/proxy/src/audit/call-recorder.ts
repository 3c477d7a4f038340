import { Inject, Injectable } from '@nestjs/common';
import type { ProxyConfig } from '@keyvault/config';
import { newId } from '@keyvault/crypto';
import { KeyvaultError } from '@keyvault/errors';
import { Budgets, type CallHold } from '../ledger/budgets';
import { PROXY_CONFIG } from '../proxy.config';
import { ProxyMetrics } from '../proxy-metrics';
import { columnsOf, ProxyStore } from '../store/proxy-store';
import type { AuditRecord } from './audit-writer';

/** Rows per INSERT at most; more calls waiting go in the next one. */
const MAX_ROWS_PER_INSERT = 500;
/**
 * INSERTs out at once. A call arriving while one is out waits for it to return and goes in the
 * next one with every call that came meanwhile: it never waits for more than one statement
 * before its own (group commit: one statement and one commit for many calls). One, not two:
 * a second statement out halves the batches and costs Postgres a statement and a commit more
 * for the same calls.
 */
const MAX_INSERTS_OUT = 1;

/** A call in flight's columns (call_records): what its audit row starts with, and what settles its lease if the call's outcome is never known. */
const RECORD_COLUMNS = `id, tenant_id, vault_key_id, credential_id, vendor, method, path, run_id, conversation_id, lease_id, reserved_nanos,
                        created_at, budget_lease_ids`;

/**
 * The records of calls in flight, with the lease each drew on and the worst case it reserved, so
 * a lease whose holder died is settled from them (SpendLedger). Their own table, not audit_log:
 * each costs one primary-key entry, inserted now and deleted by the statement that writes the
 * call's audit row (AuditWriter), instead of eight index entries now and eight more for a
 * non-HOT update of the row with its outcome.
 */
export const INSERT_RECORDS = `
  INSERT INTO call_records (${RECORD_COLUMNS})
  SELECT id, tenant_id, vault_key_id, credential_id, vendor, method, path, run_id, conversation_id, lease_id, reserved_nanos,
         to_timestamp(at_ms / 1000.0), CASE WHEN budget_leases = '' THEN NULL ELSE string_to_array(budget_leases, ',') END
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                $10::text[], $11::bigint[], $12::float8[], $13::text[])
         AS r(id, tenant_id, vault_key_id, credential_id, vendor, method, path, run_id, conversation_id, lease_id, reserved_nanos, at_ms,
              budget_leases)`;

/**
 * The same row for a call alone in its batch (one connection, a quiet moment: most batches),
 * with plain parameters: no 13 one-element arrays to build, send and unnest. Measured on one
 * connection, statements alternating: 15-35% less Postgres and proxy CPU per call than the unnest.
 */
export const INSERT_RECORD = `
  INSERT INTO call_records (${RECORD_COLUMNS})
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::bigint, to_timestamp($12::float8 / 1000.0), $13::text[])`;

/** A record's values in both statements' order, but for its budget leases (an array, or joined by commas for the unnest). */
const recordValues = ({ id, at, audit: a, reservation: r }: Pending): unknown[] => [
  id, a.tenantId, a.vaultKeyId, a.credentialId, a.vendor, a.method, a.path, a.runId, a.conversationId, r.leaseId, r.amountNanos.toString(), at,
];

interface Pending {
  id: string;
  at: number;
  audit: AuditRecord;
  reservation: CallHold;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Writes each call's record before it is forwarded, and answers once Postgres has committed it
 * (as KEYVAULT_CALL_RECORD_SYNCHRONOUS_COMMIT says, `off` by default: see docs/budget-leases.md;
 * the call's audit row is written whole with its outcome, whether or not a Postgres crash took the
 * record back). Calls arriving together share one
 * INSERT and one commit. When the record cannot be written the call is refused with 503
 * `vault_unavailable` and nothing is forwarded; its audit row is written with that outcome (a
 * record whose INSERT committed after all is never counted, its call having its audit row: a
 * reconciliation of its lease, or the api's retention pass, removes it).
 *
 * `KEYVAULT_BENCH_NO_CALL_RECORD=true` skips the record (the benchmark's side-by-side run only:
 * without it a crash can lose calls' rows, and a dead instance's lease is settled at less than
 * its calls cost).
 */
@Injectable()
export class CallRecorder {
  private readonly enabled: boolean;
  private queue: Pending[] = [];
  private out = 0;
  private flushScheduled = false;

  constructor(
    private readonly store: ProxyStore,
    private readonly ledger: Budgets,
    private readonly metrics: ProxyMetrics,
    @Inject(PROXY_CONFIG) config: ProxyConfig,
  ) {
    this.enabled = !config.KEYVAULT_BENCH_NO_CALL_RECORD;
  }

  /** Resolves once the call's record is committed; throws 503 vault_unavailable otherwise (forward nothing then). */
  write(audit: AuditRecord, reservation: CallHold): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const at = Date.now();
    // a guardrail may have named this call's audit id already (duplicate claims point at it)
    const id = audit.id ?? newId('audit', at);
    // from here the call's cost is booked only once its outcome is written too (AuditWriter)
    audit.record = { id, at, hold: reservation, onOutcome: () => this.ledger.book(reservation) };
    this.ledger.awaitOutcome(reservation);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ id, at, audit, reservation, resolve, reject });
      this.kick();
    });
  }

  /**
   * Sends what is queued at the end of this event-loop turn (setImmediate), so that every call
   * whose request was read in the same turn goes in the same statement; sent at once, the first
   * call of a turn took a statement of its own.
   */
  private kick(): void {
    if (this.flushScheduled || this.out >= MAX_INSERTS_OUT) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.out < MAX_INSERTS_OUT && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_ROWS_PER_INSERT);
      this.out++;
      void this.insert(batch).finally(() => {
        this.out--;
        // what queued while this statement was out goes at the end of this turn, in one statement
        this.kick();
      });
    }
  }

  private async insert(batch: Pending[]): Promise<void> {
    try {
      if (batch.length === 1) {
        const leases = batch[0].reservation.budgetLeaseIds;
        await this.store.queryRecord('call_record', { name: 'call_record', text: INSERT_RECORD }, [...recordValues(batch[0]), leases?.length ? leases : null]);
      } else {
        const columns = columnsOf(batch.map((p) => [...recordValues(p), p.reservation.budgetLeaseIds?.join(',') ?? '']));
        await this.store.queryRecord('call_record', { name: 'call_records', text: INSERT_RECORDS }, columns);
      }
    } catch (err) {
      this.metrics.recordFailures.inc(batch.length);
      const refusal = err instanceof KeyvaultError ? err : new KeyvaultError('vault_unavailable', 'The vault database is unreachable; nothing was forwarded.');
      for (const p of batch) p.reject(refusal);
      return;
    }
    for (const p of batch) p.resolve();
  }
}
