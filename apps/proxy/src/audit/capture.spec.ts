import { describe, expect, it } from 'vitest';
import { CaptureDraft, captureDocument } from './capture';

const KEY = 'sk-proj-LeakedIntoTheStream0000000001';

describe('a capture crosses to the capture worker as plain data', () => {
  it('an SSE answer is assembled from the copied chunks, after a structured clone, redacted', () => {
    const body = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `key ${KEY}` }] }));
    const draft = new CaptureDraft('bodies', { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body, 64 * 1024);
    draft.response(200, { 'content-type': 'text/event-stream' });
    const events = [
      { choices: [{ delta: { content: 'me' } }] },
      { choices: [{ delta: { content: 'ow' } }] },
      { choices: [], usage: { prompt_tokens: 12, completion_tokens: 3 } },
    ];
    // chunks that are views into one larger buffer, as a socket read hands them out
    const wire = Buffer.from(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n');
    const shared = Buffer.concat([Buffer.alloc(100, 1), wire, Buffer.alloc(100, 2)]);
    for (let at = 100; at < 100 + wire.length; at += 17) draft.chunk(shared.subarray(at, Math.min(at + 17, 100 + wire.length)));
    expect(draft.keptBytes).toBe(wire.length + body.length);

    const call = structuredClone(draft.take('audit_1', 'tenant_1'));
    // each body crosses alone, not the buffer it was a view of
    expect(call.response!.body!.buffer.byteLength).toBe(wire.length);
    const doc = captureDocument(call);
    expect(doc.response!.stream).toMatchObject({ text: 'meow', usage: { prompt_tokens: 12, completion_tokens: 3 }, events: 3 });
    expect(doc.request.headers.authorization).toBe('[redacted]');
    expect(JSON.stringify(doc)).not.toContain(KEY);
    expect(doc.request.body).toMatchObject({ encoding: 'utf8', truncated: false, bytes: body.length });
  });

  it('metadata copies no body; a body past the cut is kept to the cut plus a margin only', () => {
    const meta = new CaptureDraft('metadata', { 'content-type': 'text/plain' }, Buffer.from('hello'), 1024);
    meta.response(200, { 'content-type': 'application/json' });
    meta.chunk(Buffer.from('{"ok":true}'));
    expect(meta.keptBytes).toBe(0);
    const m = meta.take('audit_2', 'tenant_1');
    expect(m.request.body).toBeNull();
    expect(m.response!.body).toBeNull();
    expect(captureDocument(m).request).not.toHaveProperty('body');

    const big = Buffer.alloc(10_000, 'a');
    const draft = new CaptureDraft('bodies', {}, big, 1024);
    draft.response(200, { 'content-type': 'application/json' });
    for (let i = 0; i < 10; i++) draft.chunk(Buffer.alloc(1000, 'b'));
    const call = draft.take('audit_3', 'tenant_1');
    expect(call.request.body!.length).toBeLessThan(2048);
    expect(call.response!.body!.length).toBeLessThan(3000);
    const doc = captureDocument(call);
    expect(doc.request.body).toMatchObject({ truncated: true, bytes: 10_000 });
    expect(doc.response!.body).toMatchObject({ truncated: true, bytes: 10_000 });
    expect(Buffer.byteLength(doc.response!.body!.text)).toBeLessThanOrEqual(1024);
  });
});
