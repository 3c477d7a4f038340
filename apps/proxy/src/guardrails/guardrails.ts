import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { newId } from '@keyvault/crypto';
import { KeyvaultError } from '@keyvault/errors';
import { callFingerprint, canonicalBody, derivedIdempotencyKey, exceedsPerCallLimit, modelAllowed, MONEY_VENDORS, nanosToUsdText, refusedInputKind } from '@keyvault/policy';
import type { AuditRecord } from '../audit/audit-writer';
import type { VaultKeyState } from '../auth/vault-key-auth';
import { ProxyStore } from '../store/proxy-store';
import type { CallTokens, PreparedCall, VendorCall } from '../vendors/vendor-adapter';
import { CLAIM_DUPLICATE, PRUNE_DUPLICATES, RATE_ADMIT, RELEASE_DUPLICATE, TOKENS_ADMIT, TOKENS_SETTLE } from './guardrail-statements';

/** What admitting a call left to undo or keep once it ended (see `finish`). */
export interface Admission {
  /** set by the forwarder once the call is about to go upstream */
  sent: boolean;
  /** the upstream's status once answered (0: never sent, or no answer) */
  status: number;
  /** the call's tokens as admitted against max_tokens_per_minute, settled when it ends */
  tokens?: { vaultKeyId: string; stamp: string; counted: CallTokens };
  /** this call is the first of its fingerprint in the key's duplicate window */
  claim?: { vaultKeyId: string; fingerprint: string; auditId: string };
}

const PRUNE_EVERY_MS = 60_000;

/**
 * A vault key's guardrails (issue 19) on the proxy's hot path: the rules are the pure functions
 * of libs/policy; this class applies them to a priced call before anything is reserved or sent,
 * and throws the refusal (the forwarder writes its audit row). Duplicate claims live in Postgres
 * (duplicate_calls), so a duplicate is caught whichever proxy instance it reaches.
 */
@Injectable()
export class GuardrailChecks implements OnModuleDestroy {
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(private readonly store: ProxyStore) {
    this.pruneTimer = setInterval(() => void this.store.query('duplicate_prune', PRUNE_DUPLICATES).catch(() => undefined), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.pruneTimer);
  }

  async admit(key: VaultKeyState, request: VendorCall, call: PreparedCall, audit: AuditRecord): Promise<Admission> {
    const g = key.guardrails;
    if (g.allowedModels !== null && (call.model !== undefined || call.costNanos > 0n) && !modelAllowed(g.allowedModels, call.model)) {
      throw new KeyvaultError('model_not_allowed', `Model '${call.model ?? ''}' is not in this vault key's allowed_models.`, 'model');
    }
    const refusedInput = call.inputs ? refusedInputKind(g.allowedInputs ?? null, call.inputs) : undefined;
    if (refusedInput) {
      throw new KeyvaultError(
        'input_not_allowed',
        `This call carries ${refusedInput.replace('_', ' ')}, which this vault key's allowed_inputs leave out.`,
        refusedInput === 'server_tools' ? 'tools' : 'messages',
      );
    }
    // the worst case includes the images, files and server tools the body carries (unbounded-inputs.ts)
    if (exceedsPerCallLimit(g.maxCallNanos, call.costNanos)) {
      throw new KeyvaultError(
        'per_call_limit_exceeded',
        `This call may cost up to $${nanosToUsdText(call.costNanos)}, above the vault key's max_usd_per_call of $${nanosToUsdText(g.maxCallNanos!)}.`,
      );
    }
    if (g.maxCallsPerMinute !== null) await this.admitRate(key.id, g.maxCallsPerMinute);
    const admission: Admission = { sent: false, status: 0 };
    if (g.maxTokensPerMinute !== null && call.tokens) await this.admitTokens(key.id, g.maxTokensPerMinute, call.tokens, admission);
    if (g.duplicateWindowSeconds > 0 && call.costNanos > 0n && MONEY_VENDORS.includes(key.vendor)) await this.claim(key, request, audit, admission);
    return admission;
  }

  /**
   * The call ended: its tokens are settled, and its duplicate claim given up when the call surely
   * did nothing (see releaseClaim). Answers the release in flight (null when there is none): the
   * caller answers the client only after it, so that an immediate retry is not a duplicate.
   */
  finish(admission: Admission): Promise<void> | null {
    const t = admission.tokens;
    if (t) {
      // usage when the answer told it; nothing when the call was never sent; else the worst case stays
      const used = !admission.sent ? 0 : t.counted.actual;
      if (used !== null && used < t.counted.worst) {
        void this.store.query('tokens_settle', TOKENS_SETTLE, [t.vaultKeyId, t.stamp, used]).catch(() => undefined);
      }
    }
    return this.releaseClaim(admission);
  }

  /**
   * Gives up the call's duplicate claim when the call surely did nothing (refused before it was
   * sent, or answered with an error), so a retry is not taken for a duplicate; a call whose
   * outcome is unknown (sent, no answer) keeps it: the vendor may have acted. Once per call;
   * resolves when the claim is gone (or the database could not be told: it expires with its window).
   * Answers null when there is nothing to give up.
   */
  releaseClaim(admission: Admission): Promise<void> | null {
    const c = admission.claim;
    if (!c) return null;
    const failed = admission.status === 0 ? !admission.sent : admission.status < 200 || admission.status >= 300;
    if (!failed) return null;
    admission.claim = undefined;
    return this.store.query('duplicate_release', RELEASE_DUPLICATE, [c.vaultKeyId, c.fingerprint, c.auditId]).then(
      () => undefined,
      () => undefined,
    );
  }

  /** One LLM call's worst-case tokens against max_tokens_per_minute, decided in the database for all instances. */
  private async admitTokens(vaultKeyId: string, limit: number, tokens: CallTokens, admission: Admission): Promise<void> {
    if (tokens.worst > limit) {
      throw new KeyvaultError('rate_limited', `This call may use up to ${tokens.worst} tokens, above the vault key's max_tokens_per_minute (${limit}): lower max_tokens.`).withHeaders({
        'Retry-After': '60',
      });
    }
    const [row] = await this.store.query<{ r: string[] }>('tokens_admit', TOKENS_ADMIT, [vaultKeyId, limit, tokens.worst]);
    const [waitMs, stamp] = row.r;
    if (waitMs !== '0') {
      throw new KeyvaultError('rate_limited', `This vault key's max_tokens_per_minute (${limit}) is reached.`).withHeaders({
        'Retry-After': String(Math.ceil(Number(waitMs) / 1000)),
      });
    }
    admission.tokens = { vaultKeyId, stamp, counted: tokens };
  }

  /** One call against max_calls_per_minute, decided in the database for all instances at once. */
  private async admitRate(vaultKeyId: string, limit: number): Promise<void> {
    const [row] = await this.store.query<{ wait_ms: string }>('rate_admit', RATE_ADMIT, [vaultKeyId, limit]);
    const waitMs = Number(row.wait_ms);
    if (waitMs > 0) {
      throw new KeyvaultError('rate_limited', `This vault key's max_calls_per_minute (${limit}) is reached.`).withHeaders({
        'Retry-After': String(Math.ceil(waitMs / 1000)),
      });
    }
  }

  /**
   * Claims the call's fingerprint for the key's window, or finds the first call that holds it.
   * Stripe: the first call goes with the caller's Idempotency-Key or one derived from the claim,
   * and every duplicate with that same key, so Stripe answers the first object and books nothing
   * new (the adapter settles a replayed answer at 0). Twilio and Resend have no idempotency: a
   * duplicate is refused, naming the first call's audit row.
   */
  private async claim(key: VaultKeyState, request: VendorCall, audit: AuditRecord, admission: Admission): Promise<void> {
    const fingerprint = callFingerprint(key.id, request.method, request.path, canonicalBody(headerText(request.headers['content-type']), request.body));
    audit.id ??= newId('audit');
    const stripe = key.vendor === 'stripe';
    const ownKey = stripe ? headerText(request.headers['idempotency-key']) : undefined;
    const sendKey = stripe ? (ownKey ?? derivedIdempotencyKey(fingerprint, audit.id)) : null;
    const [first] = await this.store.query<{ audit_id: string; idempotency_key: string | null }>('duplicate_claim', CLAIM_DUPLICATE, [
      key.id, fingerprint, audit.id, sendKey, key.guardrails.duplicateWindowSeconds,
    ]);
    if (first.audit_id === audit.id) {
      admission.claim = { vaultKeyId: key.id, fingerprint, auditId: audit.id };
      if (sendKey !== null) request.headers['idempotency-key'] = sendKey;
      return;
    }
    if (stripe && first.idempotency_key !== null) {
      request.headers['idempotency-key'] = first.idempotency_key;
      return;
    }
    throw new KeyvaultError(
      'duplicate_request',
      `This call repeats ${first.audit_id} (same method, path and body) within the vault key's duplicate_window: it was not sent.`,
    );
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v === '' ? undefined : v;
}
