import { describe, expect, it } from 'vitest';
import { HangUp } from './hang-up';

describe('HangUp (a call\'s abort, without an AbortController per call)', () => {
  it('runs its listeners once, in order, with the reason set; a removed one not at all', () => {
    const hangUp = new HangUp();
    const seen: string[] = [];
    const second = () => seen.push('second');
    hangUp.addEventListener('abort', () => seen.push(`first ${String(hangUp.reason)}`));
    hangUp.addEventListener('abort', second);
    hangUp.addEventListener('abort', () => seen.push('third'));
    hangUp.removeEventListener('abort', second);
    expect(hangUp.aborted).toBe(false);
    hangUp.abort('gone');
    hangUp.abort('again');
    expect(hangUp.aborted).toBe(true);
    expect(seen).toEqual(['first gone', 'third']);
  });

  it('works as an event handler, unbound', () => {
    const hangUp = new HangUp();
    const { abort } = hangUp;
    abort();
    expect(hangUp.aborted).toBe(true);
    hangUp.removeEventListener('abort', () => undefined);
  });
});
