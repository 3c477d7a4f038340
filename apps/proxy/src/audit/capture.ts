import type { IncomingHttpHeaders } from 'node:http';
import type { CaptureLevel } from '@keyvault/db';
import { assembleSse, captureBody, redactHeaders, type AssembledStream, type CapturedBody } from '@keyvault/policy';

/** An SSE answer is kept whole (up to this) until assembled, so its usage at the end is not lost. */
const SSE_KEEP_BYTES = 16 * 1024 * 1024;
/** Read a little past the cut, so a key straddling it is still recognised and redacted. */
const REDACTION_MARGIN = 256;

/** The capture as sealed and as GET /audit/{id} shows it. */
export interface CaptureDocument {
  level: Exclude<CaptureLevel, 'none'>;
  request: { headers: Record<string, string>; body?: CapturedBody | null };
  response: { status: number; headers: Record<string, string>; body?: CapturedBody | null; stream?: AssembledStream | null } | null;
}

/**
 * One ended call's capture as it goes to the capture worker (structured clone): plain data, its
 * bodies copied out of the call's buffers into their own (transferable) memory, at most what the
 * document needs. Nothing here is redacted yet: that is the worker's first step.
 */
export interface CapturedCall {
  auditId: string;
  tenantId: string;
  level: Exclude<CaptureLevel, 'none'>;
  maxBytes: number;
  request: { headers: IncomingHttpHeaders; body: Uint8Array | null; bytes: number };
  response: { status: number; headers: IncomingHttpHeaders; body: Uint8Array | null; bytes: number; sse: boolean } | null;
}

/**
 * What one call sent and received, kept by reference while the call runs (no copying, no
 * parsing on the response path): the request's headers and body as read, the response head,
 * and the upstream's chunks up to the cut. `take()` copies it out once the call ended; the
 * redaction, the document and the sealing happen in the capture worker (captureDocument).
 */
export class CaptureDraft {
  private head: { status: number; headers: IncomingHttpHeaders } | null = null;
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private total = 0;
  private sse = false;

  constructor(
    readonly level: Exclude<CaptureLevel, 'none'>,
    private readonly requestHeaders: IncomingHttpHeaders,
    private readonly requestBody: Buffer,
    private readonly maxBytes: number,
  ) {}

  response(status: number, headers: IncomingHttpHeaders): void {
    this.head = { status, headers };
    this.sse = String(headers['content-type'] ?? '').includes('text/event-stream');
  }

  chunk(c: Buffer): void {
    this.total += c.length;
    if (this.level !== 'bodies') return;
    const limit = this.sse ? SSE_KEEP_BYTES : this.maxBytes + REDACTION_MARGIN;
    if (this.kept >= limit) return;
    this.chunks.push(c);
    this.kept += c.length;
  }

  /** The body bytes `take()` will copy (what a queue of captures is bounded by). */
  get keptBytes(): number {
    return this.level === 'bodies' ? this.kept + Math.min(this.requestBody.length, this.maxBytes + REDACTION_MARGIN) : 0;
  }

  /** The capture as plain data, its bodies copied (bounded) into buffers of their own. */
  take(auditId: string, tenantId: string): CapturedCall {
    const bodies = this.level === 'bodies';
    const req = this.requestBody;
    return {
      auditId,
      tenantId,
      level: this.level,
      maxBytes: this.maxBytes,
      request: { headers: this.requestHeaders, body: bodies && req.length > 0 ? ownCopy([req.subarray(0, this.maxBytes + REDACTION_MARGIN)]) : null, bytes: req.length },
      response: this.head && {
        status: this.head.status,
        headers: this.head.headers,
        body: bodies && this.total > 0 ? ownCopy(this.chunks) : null,
        bytes: this.total,
        sse: this.sse,
      },
    };
  }
}

/** The parts, copied into one buffer of its own (Buffer.concat may answer a slice of the shared pool, which would cross whole). */
function ownCopy(parts: Buffer[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The document of a captured call: headers redacted, bodies redacted and cut, an SSE answer assembled. */
export function captureDocument(call: CapturedCall): CaptureDocument {
  const bodies = call.level === 'bodies';
  const cut = call.maxBytes + REDACTION_MARGIN;
  const doc: CaptureDocument = {
    level: call.level,
    request: { headers: redactHeaders(call.request.headers) },
    response: null,
  };
  if (bodies) {
    const req = call.request.body;
    doc.request.body = req && call.request.bytes > 0 ? captureBody(asBuffer(req).subarray(0, cut), call.request.bytes, call.maxBytes) : null;
  }
  const res = call.response;
  if (res) {
    doc.response = { status: res.status, headers: redactHeaders(res.headers) };
    if (bodies) {
      const seen = res.body ? asBuffer(res.body) : Buffer.alloc(0);
      doc.response.body = res.bytes > 0 ? captureBody(seen.subarray(0, cut), res.bytes, call.maxBytes) : null;
      if (res.sse) {
        const assembled = assembleSse(seen.toString('utf8'));
        const text = captureBody(Buffer.from(assembled.text), Buffer.byteLength(assembled.text), call.maxBytes);
        doc.response.stream = { ...assembled, text: text.text };
      }
    }
  }
  return doc;
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
