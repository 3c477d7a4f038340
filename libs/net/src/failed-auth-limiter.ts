import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface FailedAuthLimiterOptions {
  /** failed attempts allowed per client address within the window */
  points?: number;
  /** window, seconds */
  durationSeconds?: number;
  /** how long an address that exceeded the limit stays blocked, seconds */
  blockSeconds?: number;
}

/** Addresses remembered as having failed; past this the oldest is forgotten first. */
const MAX_TRACKED_ADDRESSES = 100_000;

/**
 * Counts failed authentications per client address; once an address passes the limit it is
 * refused (429) before any secret is checked, so guessing keys costs the guesser, not our CPU.
 * Successful callers are never counted, and an address with no recent failure never reaches
 * the limiter at all (`mayBeBlocked` is one Map lookup), so valid callers pay nothing.
 * In memory, per instance.
 */
export class FailedAuthLimiter {
  private readonly limiter: RateLimiterMemory;
  /** address → until when (ms) a failure of it may still count or block */
  private readonly failing = new Map<string, number>();
  private readonly rememberMs: number;

  constructor({ points = 30, durationSeconds = 60, blockSeconds = 300 }: FailedAuthLimiterOptions = {}) {
    this.limiter = new RateLimiterMemory({ points, duration: durationSeconds, blockDuration: blockSeconds });
    this.rememberMs = (durationSeconds + blockSeconds) * 1000;
  }

  /** True when this address failed recently: only then can it be blocked. */
  mayBeBlocked(address: string): boolean {
    const until = this.failing.get(address);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.failing.delete(address);
    return false;
  }

  /** Seconds until the address may try again, or 0 when it is not blocked. */
  async blockedFor(address: string): Promise<number> {
    if (!this.mayBeBlocked(address)) return 0;
    const res = await this.limiter.get(address);
    if (!res || res.remainingPoints > 0) return 0;
    return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  }

  async recordFailure(address: string): Promise<void> {
    // re-inserted, so the Map's order stays oldest-failure first
    this.failing.delete(address);
    if (this.failing.size >= MAX_TRACKED_ADDRESSES) this.failing.delete(this.failing.keys().next().value!);
    this.failing.set(address, Date.now() + this.rememberMs);
    await this.limiter.consume(address).catch((e: unknown) => {
      if (!(e instanceof RateLimiterRes)) throw e;
    });
  }
}
