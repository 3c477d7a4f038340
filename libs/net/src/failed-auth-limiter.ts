import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface FailedAuthLimiterOptions {
  /** failed attempts allowed per client address within the window */
  points?: number;
  /** window, seconds */
  durationSeconds?: number;
  /** how long an address that exceeded the limit stays blocked, seconds */
  blockSeconds?: number;
}

/**
 * Counts failed authentications per client address; once an address passes the limit it is
 * refused (429) before any secret is checked, so guessing keys costs the guesser, not our CPU.
 * Successful callers are never counted, so they are never slowed. In memory, per instance.
 */
export class FailedAuthLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor({ points = 30, durationSeconds = 60, blockSeconds = 300 }: FailedAuthLimiterOptions = {}) {
    this.limiter = new RateLimiterMemory({ points, duration: durationSeconds, blockDuration: blockSeconds });
  }

  /** Seconds until the address may try again, or 0 when it is not blocked. */
  async blockedFor(address: string): Promise<number> {
    const res = await this.limiter.get(address);
    if (!res || res.remainingPoints > 0) return 0;
    return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  }

  async recordFailure(address: string): Promise<void> {
    await this.limiter.consume(address).catch((e: unknown) => {
      if (!(e instanceof RateLimiterRes)) throw e;
    });
  }
}
