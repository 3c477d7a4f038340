import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/** Where an answer's body goes as it arrives (the forwarder's relay). */
export interface BodySink {
  /** one chunk; false asks the upstream to pause until `resume()` (the client reads slowly) */
  data(chunk: Buffer): boolean;
  /** the whole body arrived */
  end(): void;
  /** the body broke off: an idle upstream (undici's BodyTimeoutError), a broken connection, an abort */
  error(err: Error): void;
}

/** Bytes of a refused key's answer read and dropped before its connection is closed instead (as undici's dump). */
const DUMP_LIMIT_BYTES = 128 * 1024;

/**
 * One upstream call as an undici dispatch handler: the answer's status and headers, then its
 * body handed chunk by chunk to a BodySink. This is what undici's `request()` does minus what
 * the forwarder never needs on the hot path: a Readable stream per answer (its buffering,
 * events and nextTicks), an AsyncResource and a promise wrapper; the bench's profile put them
 * at ~5% of the proxy's CPU. Backpressure is undici's own: a sink that returns false pauses
 * the socket's reading until `resume()`.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  statusCode = 0;
  headers: IncomingHttpHeaders = {};
  /** resolves with this exchange once the answer's headers arrived; rejects with what failed before them */
  readonly started: Promise<UpstreamExchange>;

  private controller: Dispatcher.DispatchController | null = null;
  private abortReason: Error | null = null;
  private headersIn = false;
  private finished = false;
  private sink: BodySink | null = null;
  /** what arrived before a sink was attached (the same socket read may carry headers and body) */
  private early: Buffer[] | null = null;
  private earlyEnd: { error: Error | null } | null = null;
  private resolveStart!: (exchange: UpstreamExchange) => void;
  private rejectStart!: (err: Error) => void;

  /** `settled`: called once when the call is over, whichever way (releases its upstream gate slot). */
  constructor(private readonly settled: (() => void) | null = null) {
    this.started = new Promise((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
  }

  /** Aborts the call wherever it is: waiting for a connection, sent, or streaming its answer. */
  abort(reason: Error = new Error('aborted')): void {
    if (this.finished) return;
    if (this.controller) this.controller.abort(reason);
    // not dispatched on a connection yet: aborted as soon as it is
    else this.abortReason = reason;
  }

  pause(): void {
    this.controller?.pause();
  }

  resume(): void {
    this.controller?.resume();
  }

  /** Starts handing the body to `sink`, what already arrived first. */
  pipeTo(sink: BodySink): void {
    this.sink = sink;
    const early = this.early;
    this.early = null;
    if (early) for (const chunk of early) if (!sink.data(chunk)) this.pause();
    const end = this.earlyEnd;
    if (end) end.error ? sink.error(end.error) : sink.end();
  }

  /** Reads and drops the body (a refused key's answer), so that its connection can carry the next call. */
  dump(): void {
    let size = 0;
    this.pipeTo({
      data: (chunk) => {
        size += chunk.length;
        if (size > DUMP_LIMIT_BYTES) this.abort();
        return true;
      },
      end: () => undefined,
      error: () => undefined,
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason) controller.abort(this.abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx informational answers are not the answer
    if (statusCode < 200) return;
    this.statusCode = statusCode;
    this.headers = headers;
    this.headersIn = true;
    this.resolveStart(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.sink) {
      if (!this.sink.data(chunk)) controller.pause();
    } else {
      (this.early ??= []).push(chunk);
    }
  }

  onResponseEnd(): void {
    this.finish(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (!this.headersIn) {
      if (this.finished) return;
      this.finished = true;
      this.settled?.();
      this.rejectStart(err);
      return;
    }
    this.finish(err);
  }

  private finish(error: Error | null): void {
    if (this.finished) return;
    this.finished = true;
    this.settled?.();
    if (!this.sink) this.earlyEnd = { error };
    else if (error) this.sink.error(error);
    else this.sink.end();
  }
}
