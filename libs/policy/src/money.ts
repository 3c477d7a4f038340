/**
 * Money is integer nano-dollars inside Keyvault (1 USD = 1,000,000,000): `bigint` in TypeScript,
 * `bigint` in Postgres (the `*_nanos` columns), and a decimal number of USD only at the JSON
 * edge, with up to 9 decimals. Sums never drift and nothing is rounded on the way: a value that
 * needs more than 9 decimals is refused, never rounded.
 *
 * At the JSON edge an amount is a JS number. A double carries any decimal of up to 15 significant
 * digits exactly (it reads back as the same digits), so every amount below $1,000,000 (a key's cap
 * is at most that) shows to the nano-dollar; beyond, it is the nearest double.
 */
export const NANOS_PER_USD = 1_000_000_000n;

/** Digits of a decimal number as JSON or JavaScript write it: `12.5`, `0.0000002`, `2e-7`. */
const DECIMAL = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;

/**
 * A non-negative decimal as an integer count of 10^-`decimals` units (`scaledDecimal(0.15, 3)` is
 * 150n), or null when it needs more decimals, is negative or is not a finite number. A JS number
 * is read from its shortest round-trip text (what JSON.parse was given, for up to 15 significant
 * digits), digit by digit: no float arithmetic touches it. So 0.1 + 0.2 (0.30000000000000004) is
 * refused rather than rounded.
 */
export function scaledDecimal(value: number | string, decimals: number): bigint | null {
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  const text = typeof value === 'number' ? String(value) : value.trim();
  if (text.length > 64) return null;
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const frac = m[2] ?? '';
  let digits = (m[1] + frac).replace(/^0+(?=\d)/, '');
  let shift = decimals - frac.length + Number(m[3] ?? 0);
  while (shift < 0 && digits.length > 1 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    shift++;
  }
  if (shift < 0) return /^0+$/.test(digits) ? 0n : null;
  if (shift > 40) return /^0+$/.test(digits) ? 0n : null;
  return BigInt(digits) * 10n ** BigInt(shift);
}

/** USD (a JSON number or decimal text) to nano-dollars; null for more than 9 decimals or a negative amount. */
export function usdToNanos(usd: number | string): bigint | null {
  return scaledDecimal(usd, 9);
}

/** Nano-dollars as exact decimal USD text, without exponent or trailing zeros: `0.0000002`, `12.34`, `100`. */
export function nanosToUsdText(nanos: bigint | number | string): string {
  const n = BigInt(nanos);
  const abs = n < 0n ? -n : n;
  const whole = abs / NANOS_PER_USD;
  const frac = (abs % NANOS_PER_USD).toString().padStart(9, '0').replace(/0+$/, '');
  return `${n < 0n ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** Nano-dollars to a JSON number of USD (exact to the nano-dollar below $1,000,000: see above). */
export function nanosToUsd(nanos: bigint | number | string): number {
  return Number(nanosToUsdText(nanos));
}

/** A JSON number of USD as exact decimal text (`2e-7` → `0.0000002`), for people to read; its own text when not a 9-decimal amount. */
export function usdText(usd: number): string {
  const nanos = typeof usd === 'number' && usd < 0 ? usdToNanos(-usd) : usdToNanos(usd);
  if (nanos === null) return String(usd);
  return usd < 0 ? `-${nanosToUsdText(nanos)}` : nanosToUsdText(nanos);
}
