import type { ServerResponse } from 'node:http';
import { startStubServer, type StubServer } from './stub-server';

/** How the stub's chat-completion streams go (changed between tests; applies to streams started after). */
export interface SseStreamPlan {
  /** content chunks after the first one */
  chunks: number;
  /** pause before each of those chunks */
  gapMs: number;
  /** characters of content per chunk */
  chunkChars: number;
  /** the content of each chunk instead of `chunkChars` × 'x' */
  chunkText?: string;
  /** the first chunk goes out at once, the rest only once this many streams are open together (0: no wait) */
  barrier: number;
  /**
   * Where a stream stops and stays silent until `release()` or its connection closes: before
   * its headers, after its first chunk, after its usage chunk (before `[DONE]`), or never.
   */
  stall: 'never' | 'headers' | 'first-chunk' | 'usage';
}

export interface SseStreamStub extends StubServer {
  plan: SseStreamPlan;
  /** usage of every stream (sent when the request asks for it) */
  readonly usage: { prompt_tokens: number; completion_tokens: number };
  /** usage of every Anthropic Messages stream (`POST /v1/messages`): `message_start` reports the input, `message_delta` the output */
  readonly anthropicUsage: { input_tokens: number; output_tokens: number };
  /** streams open now, and the most ever open together */
  open(): number;
  maxOpen(): number;
  /** streams whose connection closed before the stub ended them (a hang-up or an abort seen upstream) */
  closedEarly(): number;
  /** streams that completed */
  completed(): number;
  /** body bytes written so far (by every stream) */
  bytesWritten(): number;
  /** streams whose last write was refused by the socket and are waiting for 'drain' (backpressure) */
  blocked(): number;
  /** lets every stalled stream go on */
  release(): void;
  /** forgets the counters */
  reset(): void;
}

const DEFAULT_PLAN: SseStreamPlan = { chunks: 3, gapMs: 20, chunkChars: 4, barrier: 0, stall: 'never' };

/**
 * A loopback OpenAI chat-completions endpoint (and Anthropic Messages endpoint, at
 * `POST /v1/messages`) that streams slowly and says what it sees: how many streams are open at
 * once, which ones the other side closed, and when its writes are held back by a reader that
 * does not keep up.
 */
export async function startSseStreamStub(plan: Partial<SseStreamPlan> = {}): Promise<SseStreamStub> {
  const usage = { prompt_tokens: 12, completion_tokens: 3 };
  const anthropicUsage = { input_tokens: 25, output_tokens: 7 };
  let open = 0;
  let maxOpen = 0;
  let closedEarly = 0;
  let completed = 0;
  let bytes = 0;
  let blocked = 0;
  let stalled: Array<() => void> = [];
  let barrierWaiters: Array<() => void> = [];

  const server = await startStubServer(async (req, res) => {
    const p = stub.plan;
    const body = JSON.parse(req.body.toString('utf8') || '{}') as { model?: string; stream?: boolean; stream_options?: { include_usage?: boolean } };
    const withUsage = body.stream_options?.include_usage === true;
    let closed = false;
    // what this stream waits for (a stall or the barrier) also ends when its connection closes
    let wake: (() => void) | null = null;
    res.on('close', () => {
      closed = true;
      open--;
      if (!res.writableFinished) closedEarly++;
      wake?.();
    });
    open++;
    maxOpen = Math.max(maxOpen, open);
    const wait = (list: Array<() => void>) =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        wake = resolve;
        list.push(resolve);
      });
    const stall = () => wait(stalled);

    if (p.stall === 'headers') await stall();
    if (closed) return;
    if (body.stream !== true) {
      // a plain JSON completion: its first half, then (stall 'first-chunk') silence, or the rest
      const doc = JSON.stringify({
        id: 'chatcmpl-slow', object: 'chat.completion', created: 1700000000, model: body.model ?? 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(p.chunkChars) }, finish_reason: 'stop' }],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(doc) });
      const half = doc.length >> 1;
      if (!(await write(res, doc.slice(0, half)))) return;
      if (p.stall === 'first-chunk') await stall();
      if (closed) return;
      res.end(doc.slice(half));
      completed++;
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (req.path === '/v1/messages') return messages(res, body.model ?? 'claude-sonnet-4-5', p, () => closed, stall);
    const model = body.model ?? 'gpt-4o-mini';
    const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 1700000000, model, choices, ...(withUsage ? { usage: null } : {}), ...extra })}\n\n`;
    const content = p.chunkText ?? 'x'.repeat(p.chunkChars);
    if (!(await write(res, event([{ index: 0, delta: { role: 'assistant', content }, finish_reason: null }])))) return;
    if (p.stall === 'first-chunk') await stall();
    if (p.barrier > 0) {
      if (maxOpen >= p.barrier) releaseBarrier();
      else await wait(barrierWaiters);
    }
    for (let i = 0; i < p.chunks && !closed; i++) {
      if (p.gapMs > 0) await new Promise((r) => setTimeout(r, p.gapMs));
      if (!(await write(res, event([{ index: 0, delta: { content }, finish_reason: null }])))) return;
    }
    if (closed) return;
    if (!(await write(res, event([{ index: 0, delta: {}, finish_reason: 'stop' }])))) return;
    if (withUsage && !(await write(res, event([], { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } })))) return;
    if (p.stall === 'usage') await stall();
    if (closed) return;
    res.end('data: [DONE]\n\n');
    completed++;
  });

  /** An Anthropic Messages stream in the plan's shape: a text block of `chunks + 1` deltas. */
  async function messages(res: ServerResponse, model: string, p: SseStreamPlan, closed: () => boolean, stall: () => Promise<void>): Promise<void> {
    const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const content = p.chunkText ?? 'x'.repeat(p.chunkChars);
    const start = event('message_start', {
      message: { id: 'msg_slow', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: anthropicUsage.input_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } },
    });
    const delta = event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: content } });
    if (!(await write(res, start + event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) + delta))) return;
    if (p.stall === 'first-chunk') await stall();
    for (let i = 0; i < p.chunks && !closed(); i++) {
      if (p.gapMs > 0) await new Promise((r) => setTimeout(r, p.gapMs));
      if (!(await write(res, delta))) return;
    }
    if (closed()) return;
    if (!(await write(res, event('content_block_stop', { index: 0 }) + event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: anthropicUsage.output_tokens } })))) return;
    if (p.stall === 'usage') await stall();
    if (closed()) return;
    res.end(event('message_stop', {}));
    completed++;
  }

  function releaseBarrier(): void {
    const w = barrierWaiters;
    barrierWaiters = [];
    for (const resolve of w) resolve();
  }

  /** Writes, and waits for 'drain' when the socket refuses more; false when the connection closed. */
  async function write(res: ServerResponse, text: string): Promise<boolean> {
    if (res.destroyed) return false;
    bytes += Buffer.byteLength(text);
    if (res.write(text)) return true;
    blocked++;
    const drained = await new Promise<boolean>((resolve) => {
      const onDrain = () => finish(true);
      const onClose = () => finish(false);
      const finish = (ok: boolean) => {
        res.off('drain', onDrain);
        res.off('close', onClose);
        resolve(ok);
      };
      res.on('drain', onDrain);
      res.on('close', onClose);
    });
    blocked--;
    return drained;
  }

  const stub: SseStreamStub = Object.assign(server, {
    plan: { ...DEFAULT_PLAN, ...plan },
    usage,
    anthropicUsage,
    open: () => open,
    maxOpen: () => maxOpen,
    closedEarly: () => closedEarly,
    completed: () => completed,
    bytesWritten: () => bytes,
    blocked: () => blocked,
    release: () => {
      const s = stalled;
      stalled = [];
      for (const resolve of s) resolve();
    },
    reset: () => {
      maxOpen = open;
      closedEarly = 0;
      completed = 0;
      bytes = 0;
      server.clear();
    },
  });
  return stub;
}
