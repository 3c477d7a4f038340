import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: http.IncomingHttpHeaders;
  body: string;
  /** the signature checked as docs/webhooks.md tells receivers to */
  signatureValid: boolean;
  /** the status answered; null when the handler never answered */
  answered: number | null;
}

/** Decides each request's fate: a status, or 'hang' to never answer. */
export type Behaviour = (n: number, req: ReceivedRequest) => number | 'hang';

const TOLERANCE_SECONDS = 300;

/** The receiver's check exactly as docs/webhooks.md shows it: HMAC over "<t>.<body>", 5-minute window. */
export function verifySignature(header: string | undefined, rawBody: string, secret: string, now = Date.now()): boolean {
  const fields = new Map(String(header ?? '').split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const t = Number(fields.get('t'));
  if (!Number.isInteger(t) || Math.abs(now / 1000 - t) > TOLERANCE_SECONDS) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(fields.get('v1') ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A webhook receiver on 127.0.0.1 (port 0) that records every request and connection. */
export async function startReceiver(secretOf: () => string | undefined, behaviour: Behaviour = () => 200) {
  const requests: ReceivedRequest[] = [];
  let connections = 0;
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const secret = secretOf();
      const r: ReceivedRequest = {
        headers: req.headers,
        body,
        signatureValid: secret !== undefined && verifySignature(req.headers['keyvault-signature'] as string | undefined, body, secret),
        answered: null,
      };
      requests.push(r);
      const verdict = r.signatureValid ? behaviour(requests.length, r) : 400;
      if (verdict !== 'hang') {
        r.answered = verdict;
        res.writeHead(verdict, { 'content-type': 'text/plain' }).end(verdict < 300 ? 'ok' : 'no');
      }
      waiters.splice(0).forEach((w) => w());
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/hooks/keyvault`,
    requests,
    connections: () => connections,
    /** requests answered with a 2xx: what the receiver accepted */
    accepted: () => requests.filter((r) => r.answered !== null && r.answered < 300),
    /** resolves once `n` requests have arrived */
    waitFor: (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (requests.length >= n ? resolve() : waiters.push(check));
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
