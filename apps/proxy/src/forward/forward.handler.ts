import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { errors as undiciErrors } from 'undici';
import type { ProxyConfig } from '@keyvault/config';
import { KeyvaultError, toKeyvaultError } from '@keyvault/errors';
import { TrustedProxies } from '@keyvault/net';
import { matchEndpoint } from '@keyvault/policy';
import { AuditWriter, type AuditRecord } from '../audit/audit-writer';
import { CallRecorder } from '../audit/call-recorder';
import { CaptureDraft } from '../audit/capture';
import { CaptureWriter } from '../audit/capture-writer';
import { GatewayCheckCall } from '../auth/gateway-check';
import { presentedVaultKey, queryCarriesVaultKey } from '../auth/presented-vault-key';
import { VaultKeyAuth } from '../auth/vault-key-auth';
import { GuardrailChecks } from '../guardrails/guardrails';
import { CredentialsService, type LoadedCredential } from '../credentials/credentials.service';
import { retryAfterSeconds, type KeyPool } from '../credentials/key-rotation';
import { Budgets } from '../ledger/budgets';
import { PROXY_CONFIG } from '../proxy.config';
import { ProxyMetrics } from '../proxy-metrics';
import { UpstreamClient, UpstreamFailure } from '../upstream/upstream-client';
import type { UpstreamExchange } from '../upstream/upstream-exchange';
import { isSuccess, type PreparedCall, type UpstreamResponseHead, type VendorAdapter, type VendorCall } from '../vendors/vendor-adapter';
import { VendorAdapters } from '../vendors/vendor-adapters';
import { headerTests, withAllowed, type HeaderTest } from '../vendors/header-allowlist';
import { clientHeaders, contextHeader, isEventStream, leadingVendor, readBody, sendError, sseErrorEvent, upstreamHeaders, vendorPath } from './http-io';
import { HangUp, type HangUpSignal } from '../upstream/hang-up';

/** The audit's error code of a call whose client went away before its answer was complete. */
const CLIENT_CLOSED = 'client_closed';

/**
 * The hot path: one proxied call, top to bottom. Key → path → allowlist → body → credential →
 * price → guardrails → reserve → record → forward (next key when one is refused) → stream back →
 * settle → audit. Guardrails (per-call limit, models, duplicates, rate) refuse before anything is reserved.
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
    private readonly budgets: Budgets,
    private readonly upstream: UpstreamClient,
    private readonly audit: AuditWriter,
    private readonly metrics: ProxyMetrics,
    private readonly trustedProxies: TrustedProxies,
    private readonly guardrails: GuardrailChecks,
    private readonly records: CallRecorder,
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
      const client = this.trustedProxies.clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']);
      // read at most once: a gateway key's binding may read it (and strip its prompt line) first
      let body: Promise<Buffer> | null = null;
      const readOnce = () => (body ??= readBody(req, this.config.KEYVAULT_MAX_BODY_BYTES));
      const key = await this.auth.authenticate(presentedVaultKey(req.headers), client, {
        path: rawPath,
        headers: req.headers,
        readBody: readOnce,
        replaceBody: (b) => void (body = Promise.resolve(b)),
      });
      audit.tenantId = key.tenantId;
      audit.vaultKeyId = key.id;
      audit.credentialId = key.credentialId;
      audit.vendor = key.vendor;
      audit.runId ??= key.runId;
      audit.conversationId ??= key.conversationId;

      const path = vendorPath(rawPath, key.vendor);
      audit.path = path;
      if (!matchEndpoint(key.rules, method, path)) {
        throw new KeyvaultError('endpoint_not_allowed', `${method} ${path} is not in this vault key's allowed_endpoints.`);
      }
      const adapter = this.vendors.get(key.vendor);
      if (!adapter) throw new KeyvaultError('unpriced_request', `The proxy cannot meter ${key.vendor} calls yet.`);
      const requestBody = await readOnce();
      if (key.capture !== 'none') capture = new CaptureDraft(key.capture, req.headers, requestBody, this.config.KEYVAULT_CAPTURE_MAX_BYTES);
      const credential = await this.credentials.get(key.credentialId);
      const request: VendorCall = { method, path, query, headers: req.headers, body: requestBody, credential };
      const call = adapter.prepare(request);

      // guardrails (issue 19): refusals before anything is reserved or sent
      const admission = await this.guardrails.admit(key, request, call, audit);
      // every level at once: the key's day and life, its profile's day and month, its tenant's month
      const reservation = await this.budgets.reserve(key, credential, call.costNanos).catch(async (err: unknown) => {
        // the refusal goes out once the claim is given back: a retry right after it is not a duplicate
        await this.guardrails.finish(admission);
        throw err;
      });
      // Booked: 0 when nothing reached the upstream; the worst case when the request went out
      // and no answer came back (the vendor may have done the work); the answer's own cost else.
      let cost = 0n;
      // a client that hangs up while the upstream thinks aborts the upstream request at once
      const hangUp = new HangUp();
      res.once('close', hangUp.abort);
      try {
        const allowed = headerTests(adapter.headers);
        // durable before anything goes upstream, or 503 vault_unavailable and nothing is forwarded
        await this.records.write(audit, reservation);
        let response: UpstreamExchange;
        try {
          response = await this.send(adapter, credential, key.keyPool, request, call, audit, withAllowed(allowed.up, key.allowedHeaders), hangUp);
        } catch (err) {
          if (err instanceof UpstreamFailure && err.requestSent) cost = call.costNanos;
          admission.sent = err instanceof UpstreamFailure ? err.requestSent : true;
          if (hangUp.aborted) audit.errorCode = CLIENT_CLOSED;
          throw err;
        } finally {
          res.off('close', hangUp.abort);
        }
        admission.sent = true;
        admission.status = response.statusCode;
        // an error answer gives its duplicate claim back before the client sees any of it (its
        // body may be whole before the response ends): a retry the moment it arrives is no duplicate
        const claimReleased = this.guardrails.releaseClaim(admission);
        if (claimReleased) await claimReleased;
        const relayed = await relay(response, res, call, withAllowed(allowed.down, key.allowedHeaders), capture);
        cost = relayed.cost;
        audit.errorCode = relayed.errorCode;
      } finally {
        this.budgets.settle(reservation, cost);
        audit.costNanos = cost;
        // a call refused before it was sent (503 vault_unavailable, 502 upstream_unreachable) is
        // answered once its duplicate claim is given back
        const released = this.guardrails.finish(admission);
        if (released) await released;
      }
    } catch (err) {
      if (err instanceof GatewayCheckCall) {
        // Dify's credentials check with a gateway key: answered here, nothing forwarded
        audit.tenantId = err.tenantId;
        err.check.answer(res);
      } else {
        const error = this.refusal(err, res);
        audit.errorCode ??= error.code;
      }
    }
    audit.status = res.statusCode;
    audit.durationMs = Math.round(performance.now() - started);
    const auditId = this.audit.record(audit);
    if (capture && auditId && audit.tenantId) this.captures.record(auditId, audit.tenantId, capture);
    this.metrics.countCall(audit.vendor, audit.errorCode ?? 'forwarded');
  }

  /**
   * Sends the call with the profile's keys in attempt order: a key the upstream refuses
   * (quota, rate limit, revoked) rests and the same request goes out with the next one; the
   * last key's answer is returned whatever it is.
   */
  private async send(
    adapter: VendorAdapter,
    credential: LoadedCredential,
    pool: KeyPool,
    request: VendorCall,
    call: PreparedCall,
    audit: AuditRecord,
    headersUp: HeaderTest,
    signal: HangUpSignal,
  ): Promise<UpstreamExchange> {
    const target = await this.upstream.target(credential.vendor, credential.baseUrl);
    const headers = upstreamHeaders(request.headers, headersUp);
    // a metered body must be readable, so it is asked for uncompressed
    if (call.meter) headers['accept-encoding'] = 'identity';
    const path = call.path ?? request.path;
    const outgoing = { method: request.method, path, query: request.query, headers, body: call.body ?? request.body };
    const keys = this.credentials.attemptOrder(credential, pool);
    for (let i = 0; ; i++) {
      adapter.authorize(headers, keys[i].secret);
      if (adapter.pathFor) outgoing.path = adapter.pathFor(path, keys[i].secret);
      audit.providerKeyId = keys[i].id;
      const response = await this.upstream.request(target, outgoing, signal);
      const head: UpstreamResponseHead = { status: response.statusCode, headers: response.headers };
      if (!(adapter.keyRefused ? adapter.keyRefused(head) : keyRefusedByDefault(head))) {
        this.credentials.served(keys[i].id);
        return response;
      }
      this.credentials.refused(keys[i].id, retryAfterSeconds(response.headers['retry-after']));
      if (i === keys.length - 1) return response;
      response.dump();
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

/** What a relayed answer cost, and why it ended early (null: it did not). */
interface Relayed {
  cost: bigint;
  errorCode: string | null;
}

/**
 * Streams the upstream's answer to the client as it arrives, through the adapter's meter when
 * there is one, and resolves once it ended. Backpressure: a client that reads slowly pauses the
 * upstream body (undici then stops reading its socket), so nothing piles up in between.
 *
 * An answer cut short costs what its meter read when that covers every token sent (usage
 * arrives last). Else, when the proxy itself cut it and closed the upstream (a client that
 * hung up, an upstream idle past KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS), a stream meter prices what
 * was streamed so far (libs/policy/stream-cut.ts); else a success costs its reserved worst case
 * (an upstream that broke may not have seen the break, and went on), and an error nothing. An
 * idle or broken upstream ends an event stream with an SSE `error` event and any other body by
 * closing it; a client that hangs up aborts the upstream at once.
 */
function relay(response: UpstreamExchange, res: ServerResponse, call: PreparedCall, headersDown: HeaderTest, capture: CaptureDraft | null): Promise<Relayed> {
  const head: UpstreamResponseHead = { status: response.statusCode, headers: response.headers };
  const meter = call.meter?.(head);
  const cutCost = (closedByProxy: boolean): bigint => (meter ? meter.finish(closedByProxy).costNanos : null) ?? (isSuccess(head.status) ? call.costNanos : 0n);
  if (res.destroyed) {
    // gone before the answer started: nothing was streamed to count, the worst case stands
    response.abort();
    return Promise.resolve({ cost: cutCost(false), errorCode: CLIENT_CLOSED });
  }
  res.writeHead(head.status, clientHeaders(head.headers, meter?.rewrites ?? false, headersDown));
  capture?.response(head.status, head.headers);
  return new Promise((resolve) => {
    let settled = false;
    const done = (cost: bigint, errorCode: string | null) => {
      if (!settled) {
        settled = true;
        resolve({ cost, errorCode });
      }
    };
    res.on('drain', () => response.resume());
    res.on('close', () => {
      if (!res.writableEnded) {
        done(cutCost(true), CLIENT_CLOSED);
        response.abort();
      }
    });
    response.pipeTo({
      data: (chunk) => {
        const out = meter ? meter.transform(chunk) : chunk;
        const more = out.length === 0 || res.write(out);
        capture?.chunk(chunk);
        return more;
      },
      end: () => {
        if (!meter) {
          res.end();
          return done(isSuccess(head.status) ? call.costNanos : 0n, null);
        }
        const { tail, costNanos } = meter.finish();
        res.end(tail || undefined);
        done(costNanos ?? call.costNanos, null);
      },
      error: (err) => {
        if (settled) return;
        const idle = err instanceof undiciErrors.BodyTimeoutError;
        const error = idle
          ? new KeyvaultError('upstream_timeout', 'The upstream sent nothing for too long; the answer is incomplete.')
          : new KeyvaultError('upstream_unreachable', 'The upstream broke off the answer; it is incomplete.');
        done(cutCost(idle), error.code);
        if (isEventStream(head.headers) && !res.destroyed) res.end(sseErrorEvent(error));
        else res.destroy();
      },
    });
  });
}
