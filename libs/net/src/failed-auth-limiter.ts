import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { addressBucket } from './client-address';

export interface FailedAuthLimiterOptions {
  /** failed attempts allowed per client address within the window */
  points?: number;
  /** window, seconds */
  durationSeconds?: number;
  /** how long an address that exceeded the limit stays refused, seconds */
  blockSeconds?: number;
}

/**
 * Counts credentials that failed verification, per client address (per /64 for IPv6). Past the
 * limit, further failures from that address are answered 429 instead of 401 for `blockSeconds`.
 * It is consulted only after a credential failed: a credential that verifies is never counted
 * and never refused, so one misconfigured client (or an attacker) behind the same NAT or load
 * balancer cannot lock out the valid callers sharing its address. In memory, per process.
 */
export class FailedAuthLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor({ points = 30, durationSeconds = 60, blockSeconds = 300 }: FailedAuthLimiterOptions = {}) {
    this.limiter = new RateLimiterMemory({ points, duration: durationSeconds, blockDuration: blockSeconds });
  }

  /**
   * Counts one failed verification from `address`: 0 when it is within the limit (answer 401),
   * otherwise the seconds the address must wait (answer 429 with Retry-After).
   */
  async failed(address: string): Promise<number> {
    try {
      await this.limiter.consume(addressBucket(address));
      return 0;
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      return Math.max(1, Math.ceil(e.msBeforeNext / 1000));
    }
  }
}
