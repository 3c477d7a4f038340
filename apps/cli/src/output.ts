/** How a command shows its result: a readable table for people, or the api's JSON for scripts. */
export interface Output {
  json: boolean;
  /** A list of rows: JSON prints the rows as the api returned them. */
  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void;
  /** One object: JSON prints it whole, people get `field  value` lines (of `readable`, when given). */
  record(value: object, readable?: object): void;
  /** A line for people only (hints, notes); JSON output stays parseable. */
  note(line: string): void;
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

export function createOutput(json: boolean, write: (s: string) => void = (s) => process.stdout.write(s)): Output {
  return {
    json,
    table(rows, columns) {
      if (json) return write(`${JSON.stringify(rows, null, 2)}\n`);
      write(formatTable(rows, columns));
    },
    record(value, readable) {
      if (json) return write(`${JSON.stringify(value, null, 2)}\n`);
      const entries = Object.entries(readable ?? value);
      const width = Math.max(...entries.map(([k]) => k.length));
      write(entries.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join('\n') + '\n');
    },
    note(line) {
      if (!json) write(`${line}\n`);
    },
  };
}

export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (Array.isArray(v)) return v.length ? v.map(cell).join(', ') : '-';
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return entries.length ? entries.map(([k, x]) => `${k}=${cell(x)}`).join(',') : '-';
  }
  return String(v);
}
