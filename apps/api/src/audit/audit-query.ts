import { idFloor, idTime } from '@keyvault/crypto';

/** The filters GET /audit and GET /audit/export share. */
export interface AuditFilters {
  vault_key?: string;
  run_id?: string;
  conversation_id?: string;
  /** an HTTP status (`429`) or a class (`4xx`) */
  status?: string;
  /** ISO 8601, inclusive */
  from?: string;
  /** ISO 8601, exclusive */
  to?: string;
}

/** The columns a listing or an export reads, in the order the CSV writes them. */
export const AUDIT_COLUMNS =
  'id, vault_key_id, vendor, method, path, status, error_code, cost_nanos, duration_ms, run_id, conversation_id, provider_key_id, credential_id, created_at';

export interface AuditRow {
  id: string;
  vault_key_id: string | null;
  vendor: string;
  method: string;
  path: string;
  status: number;
  error_code: string | null;
  /** bigint, as pg returns it */
  cost_nanos: string;
  duration_ms: number;
  run_id: string | null;
  conversation_id: string | null;
  provider_key_id: string | null;
  credential_id: string | null;
  created_at: Date;
}

const MAX_ID_TIME_MS = 2 ** 48 - 1;

/** One row by id (`$1` tenant, `$2` id), anywhere in the table. */
export const AUDIT_BY_ID = `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = $1 AND id = $2`;
/** The same, in the partitions of created_at from `$3` to `$4` only (auditIdWindow). */
export const AUDIT_BY_ID_NEAR = `${AUDIT_BY_ID} AND created_at >= $3 AND created_at < $4`;
/** How far a row's created_at may lie from its id's time and still be found by AUDIT_BY_ID_NEAR. */
const ID_CLOCK_SLACK_MS = 86_400_000;

/**
 * The created_at window an audit id's row lies in, for a lookup that reads two or three day
 * partitions instead of all of them: the proxy mints a row's id and its created_at from one
 * clock reading. Null when `id` is no audit id.
 */
export function auditIdWindow(id: string): [Date, Date] | null {
  const minted = idTime('audit', id);
  return minted === null ? null : [new Date(minted - ID_CLOCK_SLACK_MS), new Date(minted + ID_CLOCK_SLACK_MS)];
}

/**
 * The smallest audit id of a given millisecond: the prefix and the 10 time characters of the id
 * layout, without the random tail. Ids compare bytewise (COLLATE "C"), so `id >= bound(from)`
 * and `id < bound(to)` are time bounds the (tenant_id, ..., id) indexes serve as ranges.
 */
export function auditIdBound(ms: number): string {
  const clamped = Math.min(Math.max(Math.floor(ms), 0), MAX_ID_TIME_MS);
  return idFloor('audit', clamped);
}

/**
 * The WHERE clause of an audit query, always scoped to one tenant (`$1`). Every filter is an
 * equality or a range on a column of one of the audit indexes, so the planner can walk an
 * index newest-first and stop at the page size.
 */
export function auditWhere(tenantId: string, f: AuditFilters, startingAfter?: string): { where: string; params: unknown[] } {
  const params: unknown[] = [tenantId];
  // a call's audit row is written with its outcome (its record before forwarding lives in
  // call_records), or as `interrupted` by a reconciliation (docs/budget-leases.md); a row of status
  // 0 without an error code is no call's outcome and is not listed
  const clauses = ['tenant_id = $1', '(status <> 0 OR error_code IS NOT NULL)'];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    clauses.push(sql(`$${params.length}`));
  };
  if (f.vault_key !== undefined) add((p) => `vault_key_id = ${p}`, f.vault_key);
  if (f.run_id !== undefined) add((p) => `run_id = ${p}`, f.run_id);
  if (f.conversation_id !== undefined) add((p) => `conversation_id = ${p}`, f.conversation_id);
  if (f.status !== undefined) {
    const cls = /^([1-5])xx$/.exec(f.status);
    if (cls) {
      const low = Number(cls[1]) * 100;
      add((p) => `status >= ${p}`, low);
      add((p) => `status < ${p}`, low + 100);
    } else {
      add((p) => `status = ${p}`, Number(f.status));
    }
  }
  if (f.from !== undefined) add((p) => `id >= ${p}`, auditIdBound(Date.parse(f.from)));
  if (f.to !== undefined) add((p) => `id < ${p}`, auditIdBound(Date.parse(f.to)));
  if (startingAfter !== undefined) add((p) => `id < ${p}`, startingAfter);
  return { where: clauses.join(' AND '), params };
}
