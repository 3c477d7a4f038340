import { Injectable } from '@nestjs/common';
import { KeyvaultError } from '@keyvault/errors';
import { exceedsPerCallLimit, modelAllowed, nanosToUsdText } from '@keyvault/policy';
import type { AuditRecord } from '../audit/audit-writer';
import type { VaultKeyState } from '../auth/vault-key-auth';
import type { PreparedCall, VendorCall } from '../vendors/vendor-adapter';

/** What admitting a call left to undo or keep once it ended (see `finish`). */
export interface Admission {
  /** the upstream's status once answered (0: never sent, or no answer) */
  status: number;
}

/**
 * A vault key's guardrails (issue 19) on the proxy's hot path: the rules are the pure functions
 * of libs/policy; this class applies them to a priced call before anything is reserved or sent,
 * and throws the refusal (the forwarder writes its audit row).
 */
@Injectable()
export class GuardrailChecks {
  async admit(key: VaultKeyState, _request: VendorCall, call: PreparedCall, _audit: AuditRecord): Promise<Admission> {
    const g = key.guardrails;
    if (g.allowedModels !== null && (call.model !== undefined || call.costNanos > 0n) && !modelAllowed(g.allowedModels, call.model)) {
      throw new KeyvaultError('model_not_allowed', `Model '${call.model ?? ''}' is not in this vault key's allowed_models.`, 'model');
    }
    if (exceedsPerCallLimit(g.maxCallNanos, call.costNanos)) {
      throw new KeyvaultError(
        'per_call_limit_exceeded',
        `This call may cost up to $${nanosToUsdText(call.costNanos)}, above the vault key's max_usd_per_call of $${nanosToUsdText(g.maxCallNanos!)}.`,
      );
    }
    return { status: 0 };
  }

  /** The call ended (answered, refused later, or failed). */
  finish(_admission: Admission): void {}
}
