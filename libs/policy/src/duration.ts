/**
 * The contract's duration grammar: a positive integer followed by `m`, `h` or `d`
 * (`30m`, `2h`, `72h`, `7d`). Returns seconds, or null when the text is not one.
 */
const UNIT_SECONDS = { m: 60, h: 3600, d: 86400 } as const;
export const MAX_DURATION_SECONDS = 366 * 86400;

export function parseDuration(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = /^([1-9][0-9]{0,6})([mhd])$/.exec(text);
  if (!m) return null;
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
  return seconds <= MAX_DURATION_SECONDS ? seconds : null;
}

/** The shortest contract form of a number of seconds (`30d`, `2h`, `90m`). */
export function formatDuration(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  return `${Math.ceil(seconds / 60)}m`;
}
