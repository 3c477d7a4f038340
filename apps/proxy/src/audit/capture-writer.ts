import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ProxyConfig } from '@keyvault/config';
import { connectionStartupOptions } from '@keyvault/db';
import { PROXY_CONFIG } from '../proxy.config';
import { ProxyMetrics } from '../proxy-metrics';
import type { CaptureDraft } from './capture';
import type { CaptureWorkerData, FromCaptureWorker, ToCaptureWorker } from './capture-worker';

/** Ended calls' captures are handed to the worker in batches, this often at most. */
const POST_AFTER_MS = 20;
/**
 * Captures waiting at most (here and in the worker), by count and by body bytes; beyond, a new
 * one is dropped and counted (keyvault_proxy_captures_dropped_total{reason="overload"}): a
 * capture is a convenience, the call and its audit row are unaffected.
 */
const MAX_WAITING = 20_000;
const MAX_WAITING_BYTES = 64 * 1024 * 1024;

/**
 * Stores captured calls after they ended, off the proxy's event loop: a call's end only queues a
 * reference to its draft; every POST_AFTER_MS the drafts are copied out (bounded) and posted to
 * the capture worker (capture-worker.ts, a worker thread), which redacts, seals under the
 * tenant's data key (AAD: tenant id + audit id) and inserts them. Nothing of a capture's content
 * is ever logged: failures log counts and error names only.
 */
@Injectable()
export class CaptureWriter implements OnModuleDestroy {
  private readonly logger = new Logger('CaptureWriter');
  private pending: Array<{ auditId: string; tenantId: string; draft: CaptureDraft }> = [];
  private pendingBytes = 0;
  /** posted to the worker, not yet stored or failed */
  private inWorker = 0;
  private inWorkerBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private worker: Worker | null = null;
  private drains = new Map<number, () => void>();
  private nextDrain = 0;

  constructor(
    @Inject(PROXY_CONFIG) private readonly config: ProxyConfig,
    private readonly metrics: ProxyMetrics,
  ) {}

  record(auditId: string, tenantId: string, draft: CaptureDraft): void {
    const bytes = draft.keptBytes;
    if (this.pending.length + this.inWorker >= MAX_WAITING || this.pendingBytes + this.inWorkerBytes + bytes > MAX_WAITING_BYTES) {
      this.metrics.capturesDropped.inc({ reason: 'overload' });
      return;
    }
    this.pending.push({ auditId, tenantId, draft });
    this.pendingBytes += bytes;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.post();
      }, POST_AFTER_MS);
      this.timer.unref();
    }
  }

  /** Resolves once every capture recorded so far is stored, or failed (clean shutdown). */
  drain(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.post();
    if (!this.worker) return Promise.resolve();
    const id = this.nextDrain++;
    const worker = this.worker;
    return new Promise<void>((resolve) => {
      this.drains.set(id, resolve);
      worker.postMessage({ type: 'drain', id } satisfies ToCaptureWorker);
    });
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  /** Copies the waiting drafts out and hands them to the worker in one message. */
  private post(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const calls = batch.map((c) => c.draft.take(c.auditId, c.tenantId));
    const transfer: ArrayBuffer[] = [];
    for (const c of calls) {
      if (c.request.body) transfer.push(c.request.body.buffer as ArrayBuffer);
      if (c.response?.body) transfer.push(c.response.body.buffer as ArrayBuffer);
    }
    this.inWorker += batch.length;
    this.inWorkerBytes += this.pendingBytes;
    this.pendingBytes = 0;
    this.workerOnce().postMessage({ type: 'calls', calls } satisfies ToCaptureWorker, transfer);
  }

  private workerOnce(): Worker {
    if (this.worker) return this.worker;
    const data: CaptureWorkerData = {
      databaseUrl: this.config.DATABASE_URL,
      pgOptions: connectionStartupOptions(this.config.KEYVAULT_PROXY_DB_ROLE),
      masterKey: this.config.KEYVAULT_MASTER_KEY,
      previousMasterKeys: this.config.KEYVAULT_PREVIOUS_MASTER_KEYS,
    };
    const worker = startCaptureWorker(data);
    // the process may end without waiting for it (drain() waits, at a clean shutdown)
    worker.unref();
    worker.on('message', (m: FromCaptureWorker) => this.heard(m));
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      // what it held is lost: counted, and a next capture starts a new worker
      if (this.inWorker > 0) {
        this.metrics.capturesDropped.inc({ reason: 'write_failed' }, this.inWorker);
        this.logger.error({ captures: this.inWorker, err: { name: why } }, 'captures not written: the capture worker stopped');
      }
      this.inWorker = 0;
      this.inWorkerBytes = 0;
      for (const resolve of this.drains.values()) resolve();
      this.drains.clear();
    };
    worker.on('error', (err) => lost(err.name));
    worker.on('exit', () => lost('exit'));
    this.worker = worker;
    return worker;
  }

  private heard(m: FromCaptureWorker): void {
    if (m.type === 'drained') {
      this.drains.get(m.id)?.();
      this.drains.delete(m.id);
      return;
    }
    this.inWorker -= m.captures;
    this.inWorkerBytes -= m.bytes;
    this.metrics.dbQueries.inc({ op: 'capture_insert' });
    if (m.type === 'failed') {
      this.metrics.capturesDropped.inc({ reason: 'write_failed' }, m.captures);
      this.logger.error({ captures: m.captures, err: { name: m.error } }, 'captures not written');
    }
  }
}

/**
 * Starts capture-worker: the built JavaScript beside this file, or, when the proxy runs from its
 * TypeScript sources (the tests run it in process through Vitest), the same sources transpiled on
 * load by TypeScript's own transpileModule (a dev dependency), with the @keyvault/* aliases
 * mapped as tsconfig maps them. Not SWC: its native binding, loaded in a worker thread, took the
 * whole test process down once when the thread ended (a test worker exited without a word).
 */
function startCaptureWorker(data: CaptureWorkerData): Worker {
  const workerData = { captureWorker: data };
  if (!__filename.endsWith('.ts')) return new Worker(join(__dirname, 'capture-worker.js'), { workerData });
  const root = resolve(__dirname, '../../../..');
  const typescript = createRequire(join(root, 'package.json')).resolve('typescript');
  const loader = `
    const Module = require('node:module');
    const { readFileSync } = require('node:fs');
    const { join } = require('node:path');
    const ts = require(${JSON.stringify(typescript)});
    const libs = ${JSON.stringify(join(root, 'libs'))};
    const resolveFilename = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      const lib = /^@keyvault\\/([a-z-]+)$/.exec(request);
      return resolveFilename.call(this, lib ? join(libs, lib[1], 'src', 'index.ts') : request, ...rest);
    };
    Module._extensions['.ts'] = function (module, filename) {
      const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
        fileName: filename,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true, esModuleInterop: true },
      });
      module._compile(outputText, filename);
    };
    require(${JSON.stringify(join(__dirname, 'capture-worker.ts'))});
  `;
  return new Worker(loader, { eval: true, workerData });
}
