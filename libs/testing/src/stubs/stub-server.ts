import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a stub received, exactly as it arrived. */
export interface SeenRequest {
  method: string;
  /** path and query as sent */
  url: string;
  /** path without the query */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type StubHandler = (req: SeenRequest, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

/** A loopback HTTP server that records every request before answering it. */
export interface StubServer {
  url: string;
  port: number;
  /** every request received so far, oldest first */
  seen(): SeenRequest[];
  /** forgets what was seen */
  clear(): void;
  close(): Promise<void>;
}

export async function startStubServer(handler: StubHandler): Promise<StubServer & { server: Server }> {
  const seen: SeenRequest[] = [];
  const server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const url = raw.url ?? '/';
      const req: SeenRequest = { method: raw.method ?? 'GET', url, path: url.split('?')[0], headers: raw.headers, body: Buffer.concat(chunks) };
      seen.push(req);
      Promise.resolve(handler(req, res, raw)).catch((err: Error) => {
        if (!res.headersSent) json(res, 500, { error: { message: `stub failed: ${err.message}` } });
        else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    seen: () => [...seen],
    clear: () => void seen.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The real key a request carried (Bearer, Basic password or x-api-key). */
export function presentedKey(headers: IncomingHttpHeaders): string {
  const auth = headers.authorization ?? '';
  if (/^bearer /i.test(auth)) return auth.slice(7);
  if (/^basic /i.test(auth)) return Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':').slice(1).join(':');
  const x = headers['x-api-key'];
  return typeof x === 'string' ? x : '';
}
