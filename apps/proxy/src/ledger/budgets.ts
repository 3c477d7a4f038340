import { Inject, Injectable } from '@nestjs/common';
import type { ProxyConfig } from '@keyvault/config';
import { callBudgets } from '@keyvault/policy';
import { PROXY_CONFIG } from '../proxy.config';
import { FREE, type Reservation } from './lease-book';
import { BudgetLedger, budgetKey } from './budget-ledger';
import { ledgerClock, SpendLedger, type LedgerKey } from './spend-ledger';

/** What a call draws on: its key's day, and each budget above it that has a cap (issue 19). */
export interface CallBudgetCaps extends LedgerKey {
  /** the vault key's id, tenant and daily cap (the ledger's key) */
  credentialId: string;
  totalCapNanos: bigint | null;
  tenantMonthlyCapNanos: bigint | null;
}

/** The money one call holds: on its key's day, and on every budget above it. */
export class CallHold {
  constructor(
    readonly day: Reservation,
    readonly above: readonly Reservation[],
  ) {}

  /** the worst case the call reserved (the same on every level) */
  get amountNanos(): bigint {
    return this.day.amountNanos;
  }

  /** the key-day lease it drew on (audit_log.lease_id) */
  get leaseId(): string | null {
    return this.day.lease?.id ?? null;
  }

  /** the leases it drew on above its key's day (audit_log.budget_lease_ids), null when none */
  get budgetLeaseIds(): string[] | null {
    return this.above.length === 0 ? null : this.above.map((r) => r.lease!.id);
  }
}

const FREE_HOLD = new CallHold(FREE, []);

/**
 * Draws a call on every level: its vault key's day (SpendLedger) and the budgets above it
 * (BudgetLedger: the key's life, its profile's day and month, its tenant's month), in that
 * order. Each level is held by its own lease; the call is admitted only when every level granted
 * it, and what the levels before a refusing one granted goes back to their leases at once, so no
 * level ever passes its cap. The refusal answered is the first level's that refused.
 */
@Injectable()
export class Budgets {
  private readonly now: () => number;

  constructor(
    private readonly keyDay: SpendLedger,
    private readonly aboveKey: BudgetLedger,
    @Inject(PROXY_CONFIG) config: ProxyConfig,
  ) {
    this.now = ledgerClock(config);
  }

  async reserve(
    key: CallBudgetCaps,
    credential: { dailyCapNanos: bigint | null; monthlyCapNanos: bigint | null },
    amountNanos: bigint,
  ): Promise<CallHold> {
    if (amountNanos === 0n) return FREE_HOLD;
    const budgets = callBudgets(
      {
        vaultKeyId: key.id,
        credentialId: key.credentialId,
        tenantId: key.tenantId,
        totalCapNanos: key.totalCapNanos,
        credentialDailyCapNanos: credential.dailyCapNanos,
        credentialMonthlyCapNanos: credential.monthlyCapNanos,
        tenantMonthlyCapNanos: key.tenantMonthlyCapNanos,
      },
      this.now(),
    );
    const day = await this.keyDay.reserve(key, amountNanos);
    // the common case: a key with only its daily cap draws on its day alone
    if (budgets.length === 0) return new CallHold(day, []);
    // One level after the other, not all at once: a level's grant then goes only to calls the
    // levels before it admitted. Asked together, a call refused by one level would hold what
    // another granted it while that level refuses calls elsewhere (over two instances: a key
    // with $3 a day and $5 in total admitted 2 of 10 $1 calls, not 3).
    const above: Reservation[] = [];
    try {
      for (const b of budgets) above.push(await this.aboveKey.reserve(budgetKey(b, key.tenantId), amountNanos));
    } catch (err) {
      // refused (or 503) by one level: what the others granted goes back to their leases at once
      this.keyDay.settle(day, 0n);
      for (const r of above) this.aboveKey.settle(r, 0n);
      throw err;
    }
    return new CallHold(day, above);
  }

  /** The call's record is being written: its cost is booked on every level once its outcome row is written too. */
  awaitOutcome(h: CallHold): void {
    this.keyDay.awaitOutcome(h.day);
    for (const r of h.above) this.aboveKey.awaitOutcome(r);
  }

  /** The call ended having cost `actualNanos` on every level (0n gives it all back). */
  settle(h: CallHold, actualNanos: bigint): void {
    this.keyDay.settle(h.day, actualNanos);
    for (const r of h.above) this.aboveKey.settle(r, actualNanos);
  }

  /** Its outcome row is written: its cost is bookable on every level. */
  book(h: CallHold): void {
    this.keyDay.book(h.day);
    for (const r of h.above) this.aboveKey.book(r);
  }

  async start(): Promise<void> {
    await this.keyDay.start();
    await this.aboveKey.start();
  }

  async close(): Promise<void> {
    await Promise.all([this.keyDay.close(), this.aboveKey.close()]);
  }
}
