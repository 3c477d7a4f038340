import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from 'nestjs-pino';
import { FrameworkQuietLogger } from '@keyvault/observability';
import type { ProxyConfig } from '@keyvault/config';
import { answerClientErrors, KeyvaultExceptionFilter } from '@keyvault/errors';
import { AuditWriter } from './audit/audit-writer';
import { CaptureWriter } from './audit/capture-writer';
import { SigningKeys } from './auth/signing-keys';
import { ForwardHandler } from './forward/forward.handler';
import { Budgets } from './ledger/budgets';
import { ProxyModule } from './proxy.module';
import { ProxyStore } from './store/proxy-store';
import { UpstreamClient } from './upstream/upstream-client';

/** Operational routes served by the Nest app; every other path is a proxied call. */
const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
/** How long a shutdown waits for calls in flight before cutting them. */
const SHUTDOWN_GRACE_MS = 30_000;

/** Connections the kernel may hold unaccepted (capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

export interface ProxyServer {
  /** the Nest application (DI container, health and metrics) */
  app: INestApplication;
  server: Server;
  /** Starts accepting connections; returns the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting, lets calls in flight finish, books their spend and gives back the leases, writes the buffered audit rows, then closes. */
  close(): Promise<void>;
}

/** Builds the proxy (used by main.ts and the tests). It never changes the schema. */
export async function createProxyApp(config: ProxyConfig): Promise<ProxyServer> {
  const app = await NestFactory.create<NestExpressApplication>(ProxyModule.forRoot(config), { bufferLogs: true, bodyParser: false });
  app.useLogger(new FrameworkQuietLogger(app.get(Logger)));
  app.disable('x-powered-by');
  app.useGlobalFilters(new KeyvaultExceptionFilter());
  await app.init();

  // Listen before loading, so a key added in between is not missed.
  const store = app.get(ProxyStore);
  await store.startListening();
  await app.get(SigningKeys).reload();
  // what an earlier life of this instance id left is reconciled before any call draws anew
  const ledger = app.get(Budgets);
  await ledger.start();

  const ops = app.getHttpAdapter().getInstance() as (req: IncomingMessage, res: ServerResponse) => void;
  const forward = app.get(ForwardHandler);
  let inFlight = 0;
  let closing = false;
  const server = createServer((req, res) => {
    if (closing) res.setHeader('connection', 'close');
    const q = req.url?.indexOf('?') ?? -1;
    if (OPS_PATHS.has(q < 0 ? (req.url ?? '') : req.url!.slice(0, q))) return ops(req, res);
    inFlight++;
    void forward.handle(req, res).finally(() => inFlight--);
  });
  server.keepAliveTimeout = 65_000;
  answerClientErrors(server);

  let closed: Promise<void> | null = null;
  return {
    app,
    server,
    listen: (port, host = config.HOST) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        // a deep accept queue: a thousand chats starting within one busy event-loop turn must wait
        // to be accepted, not be reset (Node's default backlog is 511; the kernel caps it at somaxconn)
        server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => resolve((server.address() as AddressInfo).port));
      }),
    close: () =>
      (closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
        server.closeIdleConnections();
        const deadline = Date.now() + SHUTDOWN_GRACE_MS;
        while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        server.closeAllConnections();
        await stopped;
        // outcomes first: a recorded call's cost is booked on its lease once its outcome is written
        await app.get(AuditWriter).drain();
        await app.get(CaptureWriter).drain().catch(() => undefined);
        await ledger.close();
        await store.close();
        await app.get(UpstreamClient).close();
        await app.close();
      })()),
  };
}
