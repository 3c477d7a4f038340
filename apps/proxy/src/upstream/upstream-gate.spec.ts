import { describe, expect, it } from 'vitest';
import { KeyvaultError } from '@keyvault/errors';
import { UpstreamGate } from './upstream-gate';

const busy = (err: unknown) => err instanceof KeyvaultError && err.code === 'upstream_busy' && err.status === 503;

describe('UpstreamGate', () => {
  it('admits up to its limit at once, then refuses 503 upstream_busy with Retry-After when there is no queue', () => {
    let refused = 0;
    const gate = new UpstreamGate(2, 0, () => refused++);
    expect(gate.acquire()).toBeUndefined();
    expect(gate.acquire()).toBeUndefined();
    let error: unknown;
    try {
      gate.acquire();
    } catch (err) {
      error = err;
    }
    expect(busy(error)).toBe(true);
    expect((error as KeyvaultError).headers).toEqual({ 'retry-after': '1' });
    expect(refused).toBe(1);
    gate.release();
    expect(gate.acquire()).toBeUndefined();
  });

  it('lets a queued call in when a slot is released, in arrival order', async () => {
    const gate = new UpstreamGate(1, 60_000, () => undefined);
    gate.acquire();
    const order: number[] = [];
    const first = (gate.acquire() as Promise<void>).then(() => order.push(1));
    const second = (gate.acquire() as Promise<void>).then(() => order.push(2));
    expect(gate.queued).toBe(2);
    gate.release();
    await first;
    gate.release();
    await second;
    expect(order).toEqual([1, 2]);
    expect(gate.queued).toBe(0);
  });

  it('refuses a queued call after the queue timeout, and one whose client went away, without taking a slot', async () => {
    let refused = 0;
    const gate = new UpstreamGate(1, 20, () => refused++);
    gate.acquire();
    expect(busy(await (gate.acquire() as Promise<void>).catch((e: unknown) => e))).toBe(true);
    expect(refused).toBe(1);

    const slow = new UpstreamGate(1, 60_000, () => undefined);
    slow.acquire();
    const abort = new AbortController();
    const waiting = (slow.acquire(abort.signal) as Promise<void>).catch((e: unknown) => e);
    abort.abort();
    expect(busy(await waiting)).toBe(true);
    expect(slow.queued).toBe(0);
    // the slot is still the first holder's alone: released once, free for the next call
    slow.release();
    expect(slow.acquire()).toBeUndefined();
  });
});
