import type { QueryRunner } from 'typeorm';
import { DAY_MS, utcDay, utcMidnight } from '@keyvault/policy';

/**
 * The audit table's day partitions (migration AuditPartitions): `audit_log_YYYYMMDD` holds the
 * rows whose created_at falls on that UTC day, `audit_log_default` whatever no partition was
 * there for. Partitions are made by the database function `keyvault_audit_partition(day)`
 * (idempotent; moves in the rows the default partition caught for that day) so the migration
 * and this job make them alike, with the same grants and row-level security policies.
 */
/** Partitions kept ready ahead of today, so a row lands in the default partition only if the job stopped for a week. */
export const PARTITIONS_AHEAD_DAYS = 7;
/**
 * Partition DDL waits at most this long for its lock, then gives up until the next pass: a DDL
 * statement waiting in the lock queue (behind a long export) would hold up every audit insert
 * and read queued behind it.
 */
const DDL_LOCK_TIMEOUT = '500ms';
const PARTITION_NAME = /^audit_log_(\d{4})(\d{2})(\d{2})$/;


export interface DroppedPartition {
  name: string;
  /** the UTC day it held, YYYY-MM-DD */
  day: string;
  rows: number;
}

/** Runs `fn` in a transaction whose statements wait for locks at most DDL_LOCK_TIMEOUT. */
async function ddl<T>(runner: QueryRunner, fn: () => Promise<T>): Promise<T> {
  await runner.startTransaction();
  try {
    await runner.query(`SET LOCAL lock_timeout = '${DDL_LOCK_TIMEOUT}'`);
    const out = await fn();
    await runner.commitTransaction();
    return out;
  } catch (err) {
    await runner.rollbackTransaction();
    throw err;
  }
}

/**
 * Makes sure the partitions of today and the next PARTITIONS_AHEAD_DAYS days exist, and gives
 * every day the default partition holds rows of (from `keepFrom` on: older ones are expired, not
 * moved) a partition of its own, moving those rows into it. Answers the days it created.
 */
export async function ensurePartitions(runner: QueryRunner, now: number, keepFrom: number): Promise<string[]> {
  const days = new Set<string>();
  for (let i = 0; i <= PARTITIONS_AHEAD_DAYS; i++) days.add(utcDay(utcMidnight(now) + i * DAY_MS));
  const stray: { day: string }[] = await runner.query(
    `SELECT DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM audit_log_default WHERE created_at >= $1`,
    [new Date(keepFrom)],
  );
  for (const { day } of stray) days.add(day);
  const created: string[] = [];
  for (const day of [...days].sort()) {
    const [{ made }]: { made: boolean }[] = await ddl(runner, () => runner.query('SELECT keyvault_audit_partition($1::date) AS made', [day]));
    if (made) created.push(day);
  }
  return created;
}

/** The day partitions whose whole day lies before `before` (ms, a UTC midnight), oldest first. */
export async function partitionsBefore(runner: QueryRunner, before: number): Promise<{ name: string; day: number }[]> {
  const rows: { name: string }[] = await runner.query(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'public.audit_log'::regclass ORDER BY c.relname`,
  );
  return rows
    .map(({ name }) => {
      const m = PARTITION_NAME.exec(name);
      return m ? { name, day: Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) } : null;
    })
    .filter((p): p is { name: string; day: number } => p !== null && p.day < before);
}

/** Drops one day partition whole, answering how many rows went with it. */
export async function dropPartition(runner: QueryRunner, p: { name: string; day: number }): Promise<DroppedPartition> {
  return ddl(runner, async () => {
    // Counted before the drop locks the audit table (a day past retention gets no new rows), so
    // the table is held only for the drop itself.
    const [{ rows }]: { rows: number }[] = await runner.query(`SELECT count(*)::int AS rows FROM public."${p.name}"`);
    await runner.query(`DROP TABLE public."${p.name}"`);
    return { name: p.name, day: utcDay(p.day), rows };
  });
}
