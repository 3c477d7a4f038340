import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { ProxyConfig } from '@keyvault/config';
import { KeyvaultError, toKeyvaultError } from '@keyvault/errors';
import { matchEndpoint } from '@keyvault/policy';
import { AuditWriter, type AuditRecord } from '../audit/audit-writer';
import { CaptureDraft } from '../audit/capture';
import { CaptureWriter } from '../audit/capture-writer';
import { presentedVaultKey, queryCarriesVaultKey } from '../auth/presented-vault-key';
import { VaultKeyAuth } from '../auth/vault-key-auth';
import { CredentialsService, type LoadedCredential } from '../credentials/credentials.service';
import { retryAfterSeconds } from '../credentials/key-rotation';
import { SpendLedger } from '../ledger/spend-ledger';
import { PROXY_CONFIG } from '../proxy.config';
import { ProxyMetrics } from '../proxy-metrics';
import { UpstreamClient } from '../upstream/upstream-client';
import { isSuccess, type PreparedCall, type UpstreamResponseHead, type VendorAdapter, type VendorCall } from '../vendors/vendor-adapter';
import { VendorAdapters } from '../vendors/vendor-adapters';
import { clientHeaders, contextHeader, leadingVendor, readBody, sendError, upstreamHeaders, vendorPath } from './http-io';

/**
 * The hot path: one proxied call, top to bottom. Key → path → allowlist → body → credential →
 * price → reserve → forward (next key when one is refused) → stream back → settle → audit.
 * Every refusal is a KeyvaultError rendered in the contract's shape, and every call, refused or
 * not, leaves one audit row. No Nest pipeline and no per-call logging here.
 */
@Injectable()
export class ForwardHandler {
  private readonly logger = new Logger('Forward');

  constructor(
    @Inject(PROXY_CONFIG) private readonly config: ProxyConfig,
    private readonly auth: VaultKeyAuth,
    private readonly credentials: CredentialsService,
    private readonly vendors: VendorAdapters,
    private readonly ledger: SpendLedger,
    private readonly upstream: UpstreamClient,
    private readonly audit: AuditWriter,
    private readonly metrics: ProxyMetrics,
    private readonly captures: CaptureWriter,
  ) {}

  /** Serves one call; never throws. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    const audit: AuditRecord = {
      tenantId: null, vaultKeyId: null, credentialId: null, providerKeyId: null,
      vendor: leadingVendor(rawPath) ?? 'unknown', method, path: rawPath.slice(0, 1024), status: 0, errorCode: null,
      costNanos: 0n, durationMs: 0,
      runId: contextHeader(req.headers, 'x-run-id', 'x-dify-workflow-run-id'),
      conversationId: contextHeader(req.headers, 'x-conversation-id'),
    };
    let capture: CaptureDraft | null = null;
    try {
      if (queryCarriesVaultKey(query)) throw new KeyvaultError('invalid_vault_key', 'A vault key is never accepted in the URL: send it in a header.');
      const key = await this.auth.authenticate(presentedVaultKey(req.headers), req.socket.remoteAddress);
      audit.tenantId = key.tenantId;
      audit.vaultKeyId = key.id;
      audit.credentialId = key.credentialId;
      audit.vendor = key.vendor;

      const path = vendorPath(rawPath, key.vendor);
      audit.path = path;
      if (!matchEndpoint(key.rules, method, path)) {
        throw new KeyvaultError('endpoint_not_allowed', `${method} ${path} is not in this vault key's allowed_endpoints.`);
      }
      const adapter = this.vendors.get(key.vendor);
      if (!adapter) throw new KeyvaultError('unpriced_request', `The proxy cannot meter ${key.vendor} calls yet.`);
      const body = await readBody(req, this.config.KEYVAULT_MAX_BODY_BYTES);
      if (key.capture !== 'none') capture = new CaptureDraft(key.capture, req.headers, body, this.config.KEYVAULT_CAPTURE_MAX_BYTES);
      const credential = await this.credentials.get(key.credentialId);
      const request: VendorCall = { method, path, query, headers: req.headers, body, credential };
      const call = adapter.prepare(request);

      const reservation = await this.ledger.reserve(key, call.costNanos);
      let cost = 0n;
      try {
        const response = await this.send(adapter, credential, request, call, audit);
        cost = await relay(response, res, call, capture);
      } finally {
        this.ledger.settle(reservation, cost);
      }
      audit.costNanos = cost < call.costNanos ? cost : call.costNanos;
    } catch (err) {
      const error = this.refusal(err, res);
      audit.errorCode = error.code;
    }
    audit.status = res.statusCode;
    audit.durationMs = Math.round(performance.now() - started);
    const auditId = this.audit.record(audit);
    if (capture && audit.tenantId) this.captures.record(auditId, audit.tenantId, capture);
    this.metrics.countCall(audit.vendor, audit.errorCode ?? 'forwarded');
  }

  /**
   * Sends the call with the profile's keys in attempt order: a key the upstream refuses
   * (quota, rate limit, revoked) rests and the same request goes out with the next one; the
   * last key's answer is returned whatever it is.
   */
  private async send(adapter: VendorAdapter, credential: LoadedCredential, request: VendorCall, call: PreparedCall, audit: AuditRecord): Promise<Dispatcher.ResponseData> {
    const target = await this.upstream.target(credential.vendor, credential.baseUrl);
    const headers = upstreamHeaders(request.headers);
    // a metered body must be readable, so it is asked for uncompressed
    if (call.meter) headers['accept-encoding'] = 'identity';
    const path = call.path ?? request.path;
    const outgoing = { method: request.method, path, query: request.query, headers, body: call.body ?? request.body };
    const keys = this.credentials.attemptOrder(credential);
    for (let i = 0; ; i++) {
      adapter.authorize(headers, keys[i].secret);
      if (adapter.pathFor) outgoing.path = adapter.pathFor(path, keys[i].secret);
      audit.providerKeyId = keys[i].id;
      const response = await this.upstream.request(target, outgoing);
      const head: UpstreamResponseHead = { status: response.statusCode, headers: response.headers };
      if (!(adapter.keyRefused ? adapter.keyRefused(head) : keyRefusedByDefault(head))) {
        this.credentials.served(keys[i].id);
        return response;
      }
      this.credentials.refused(keys[i].id, retryAfterSeconds(response.headers['retry-after']));
      if (i === keys.length - 1) return response;
      response.body.dump().catch(() => undefined);
    }
  }

  private refusal(err: unknown, res: ServerResponse): KeyvaultError {
    const error = toKeyvaultError(err);
    let errorId: string | undefined;
    if (error.code === 'internal_error') {
      errorId = `err_${randomUUID().replace(/-/g, '')}`;
      const e = err instanceof Error ? err : new Error(String(err));
      this.logger.error({ error_id: errorId, err: { name: e.name, message: e.message, stack: e.stack } }, 'unhandled error in the forward path');
    }
    sendError(res, error, errorId);
    return error;
  }
}

const keyRefusedByDefault = (r: UpstreamResponseHead): boolean => r.status === 401 || r.status === 403 || r.status === 429;

/**
 * Streams the upstream's answer to the client as it arrives (backpressure both ways), through
 * the adapter's meter when there is one, and resolves with the call's cost once it ended. A
 * response cut short on either side is charged as if complete when it was a success (what the
 * vendor billed cannot be known), and not at all otherwise.
 */
function relay(response: Dispatcher.ResponseData, res: ServerResponse, call: PreparedCall, capture: CaptureDraft | null): Promise<bigint> {
  const head: UpstreamResponseHead = { status: response.statusCode, headers: response.headers };
  const fallback = isSuccess(head.status) ? call.costNanos : 0n;
  const { body } = response;
  // undici reports a body destroyed before its end as an 'error' (aborted): expected here
  body.on('error', () => undefined);
  if (res.destroyed) {
    body.destroy();
    return Promise.resolve(fallback);
  }
  const meter = call.meter?.(head);
  res.writeHead(head.status, clientHeaders(head.headers, meter?.rewrites ?? false));
  capture?.response(head.status, head.headers);
  return new Promise((resolve) => {
    let settled = false;
    const done = (cost: bigint) => {
      if (!settled) {
        settled = true;
        resolve(cost);
      }
    };
    body.on('data', (chunk: Buffer) => {
      const out = meter ? meter.transform(chunk) : chunk;
      if (out.length > 0 && !res.write(out)) body.pause();
      capture?.chunk(chunk);
    });
    res.on('drain', () => body.resume());
    body.on('end', () => {
      if (!meter) {
        res.end();
        return done(fallback);
      }
      const { tail, costNanos } = meter.finish();
      res.end(tail || undefined);
      done(costNanos ?? call.costNanos);
    });
    body.on('error', () => {
      res.destroy();
      done(fallback);
    });
    res.on('close', () => {
      if (!res.writableEnded) {
        body.destroy();
        done(fallback);
      }
    });
  });
}
