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
 * What one call sent and received, kept by reference while the call runs (no copying, no
 * parsing on the response path): the request's headers and body as read, the response head,
 * and the upstream's chunks up to the cut. `document()` does the work, later, off the path.
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

  document(): CaptureDocument {
    const bodies = this.level === 'bodies';
    const req = this.requestBody;
    const doc: CaptureDocument = {
      level: this.level,
      request: { headers: redactHeaders(this.requestHeaders) },
      response: null,
    };
    if (bodies) doc.request.body = req.length > 0 ? captureBody(req.subarray(0, this.maxBytes + REDACTION_MARGIN), req.length, this.maxBytes) : null;
    if (this.head) {
      doc.response = { status: this.head.status, headers: redactHeaders(this.head.headers) };
      if (bodies) {
        const seen = Buffer.concat(this.chunks);
        doc.response.body = this.total > 0 ? captureBody(seen.subarray(0, this.maxBytes + REDACTION_MARGIN), this.total, this.maxBytes) : null;
        if (this.sse) {
          const assembled = assembleSse(seen.toString('utf8'));
          const text = captureBody(Buffer.from(assembled.text), Buffer.byteLength(assembled.text), this.maxBytes);
          doc.response.stream = { ...assembled, text: text.text };
        }
      }
    }
    return doc;
  }
}
