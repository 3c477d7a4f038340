/** Display helpers: money, times, ids. Pure functions, unit-tested in format.spec.ts. */

/**
 * USD with cents, and more digits below a dollar for the fractions of a cent LLM calls cost (a
 * fixed count per range, so a column of amounts lines up), extended to the nano-dollar when an
 * amount has more: money is never shown rounded.
 */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return '—';
  const abs = Math.abs(usd);
  const digits = abs === 0 || abs >= 1 ? 2 : abs >= 0.01 ? 4 : 6;
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: 9 })}`;
}

/** Spend as a share of the cap, 0..1 (a zero cap reads as full once anything is spent). */
export function spendRatio(spent: number, cap: number): number {
  if (cap <= 0) return spent > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, spent / cap));
}

export function spendLevel(ratio: number): 'ok' | 'warn' | 'full' {
  return ratio >= 1 ? 'full' : ratio >= 0.8 ? 'warn' : 'ok';
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/** "in 2 hours", "3 minutes ago", "now". */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const diff = new Date(iso).getTime() - now;
  if (!Number.isFinite(diff)) return '—';
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms) return rtf.format(Math.round(diff / ms), unit);
  }
  return Math.abs(diff) < 30_000 ? 'now' : rtf.format(Math.round(diff / 1000), 'second');
}

/** "2026-11-22 14:03:07" in local time: sortable, unambiguous, fits a table cell. */
export function dateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function timeOnly(iso: string): string {
  return dateTime(iso).slice(11);
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** The status of a proxied call, by HTTP class, for its colour. */
export function statusTone(status: number): 'ok' | 'warn' | 'bad' {
  return status < 400 ? 'ok' : status < 500 ? 'warn' : 'bad';
}
