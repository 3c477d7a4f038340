/**
 * Money is integer micro-dollars inside Keyvault (1 USD = 1,000,000) and a decimal number of
 * USD only at the JSON edge, so sums never drift.
 */
export const MICROS_PER_USD = 1_000_000n;

/** USD (as JSON gives it) to micro-dollars; rejects more than 6 decimals rather than rounding. */
export function usdToMicros(usd: number): bigint | null {
  if (typeof usd !== 'number' || !Number.isFinite(usd) || usd < 0) return null;
  const text = usd.toFixed(6);
  const [whole, frac] = text.split('.');
  const micros = BigInt(whole) * MICROS_PER_USD + BigInt(frac);
  // Round trip must be exact to 6 decimals (guards against 0.1234567)
  if (Math.abs(Number(micros) / 1e6 - usd) > 1e-9) return null;
  return micros;
}

/** Micro-dollars to a JSON number of USD (exact for any realistic amount: < 2^53 micros). */
export function microsToUsd(micros: bigint | number | string): number {
  const m = BigInt(micros);
  const whole = m / MICROS_PER_USD;
  const frac = m % MICROS_PER_USD;
  return Number(`${whole}.${frac.toString().padStart(6, '0')}`);
}
