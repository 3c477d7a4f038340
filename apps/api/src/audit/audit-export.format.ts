import { Transform } from 'node:stream';
import { nanosToUsdText } from '@keyvault/policy';
import { AuditEntryView } from './audit-entry.view';
import type { AuditRow } from './audit-query';
import type { ExportFormat } from './dto/audit-filters.dto';

/** CSV columns: every field of an audit entry but `object`. */
export const CSV_COLUMNS = [
  'id', 'vault_key_id', 'vendor', 'method', 'path', 'status', 'error_code', 'cost_usd', 'duration_ms',
  'run_id', 'conversation_id', 'provider_key_id', 'credential_id', 'created_at',
] as const satisfies readonly (keyof AuditEntryView)[];

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes doubled.
 * Text fields carry what proxy callers sent (paths, run and conversation ids), so one that a
 * spreadsheet would run as a formula (= + - @ tab CR first) gets a leading apostrophe (OWASP).
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvLine = (fields: readonly (string | number | null)[]): string => `${fields.map(csvField).join(',')}\r\n`;

/**
 * Turns audit rows (object mode) into export bytes. A Transform keeps the stream's backpressure:
 * when the client reads slowly, the response stops draining, this stops pulling, and so does the
 * database cursor behind it.
 */
export function exportEncoder(format: ExportFormat, onRow: () => void): Transform {
  let headerWritten = false;
  const header = () => {
    headerWritten = true;
    return format === 'csv' ? csvLine(CSV_COLUMNS) : '';
  };
  return new Transform({
    writableObjectMode: true,
    transform(row: AuditRow, _encoding, done) {
      const view = AuditEntryView.of(row);
      // a spreadsheet reads `0.0000002` as the amount it is; a number's own text would be `2e-7`
      const line = format === 'jsonl' ? `${JSON.stringify(view)}\n` : csvLine(CSV_COLUMNS.map((c) => (c === 'cost_usd' ? nanosToUsdText(row.cost_nanos) : view[c])));
      onRow();
      done(null, headerWritten ? line : header() + line);
    },
    flush(done) {
      done(null, headerWritten ? undefined : header() || undefined);
    },
  });
}
