import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedPost } from './pinned-post';

// a real garbage collection, as a loaded api would run one while a receiver hangs
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('pinnedPost', () => {
  let hanging: Server;
  let url: string;
  beforeAll(async () => {
    // answers nothing, ever
    hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
  });

  it('times out a receiver that never answers, even across a garbage collection (AbortSignal.timeout did not)', async () => {
    const attempts = Array.from({ length: 5 }, () =>
      pinnedPost(url, '{}', {}, { allowPrivate: true, timeoutMs: 300, signal: new AbortController().signal }).then(
        () => 'answered',
        (err: Error) => err.message,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
    const outcome = await Promise.race([Promise.all(attempts), new Promise((resolve) => setTimeout(() => resolve('still hanging after 3 s'), 3_000))]);
    expect(outcome).toEqual(Array(5).fill('timed out after 300 ms'));
  });

  it('stops at once on shutdown, with its reason', async () => {
    const shutdown = new AbortController();
    const attempt = pinnedPost(url, '{}', {}, { allowPrivate: true, timeoutMs: 10_000, signal: shutdown.signal });
    setTimeout(() => shutdown.abort(new Error('shutting down')), 50);
    await expect(attempt).rejects.toThrow('shutting down');
  });
});
