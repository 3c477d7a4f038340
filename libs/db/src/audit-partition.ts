import { utcDay } from '@keyvault/policy';

/**
 * The day partition of audit_log that holds rows created at `ms` (migration AuditPartitions,
 * `keyvault_audit_partition(day)` makes them): `audit_log_YYYYMMDD`, by UTC day.
 */
export function auditPartitionOf(ms: number): string {
  return `audit_log_${utcDay(ms).replaceAll('-', '')}`;
}
