import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The calls a vault key was admitted in the last minute, for max_calls_per_minute (issue 19):
 * database-clock times in microseconds, strictly increasing, written only by the
 * keyvault_rate_admit() function (migration GuardrailsRateLimits), which locks the row, drops
 * the stamps older than the window and admits a call only while fewer than the limit remain.
 */
@Entity('rate_windows')
export class RateWindow {
  @PrimaryColumn({ type: 'text', collation: 'C', name: 'vault_key_id' }) vaultKeyId: string;
  @Column({ type: 'bigint', name: 'call_stamps', array: true, default: () => "'{}'" }) callStamps: string[];
  /** max_tokens_per_minute: LLM calls' stamps and token counts, side by side (keyvault_token_admit) */
  @Column({ type: 'bigint', name: 'token_stamps', array: true, default: () => "'{}'" }) tokenStamps: string[];
  @Column({ type: 'bigint', name: 'token_amounts', array: true, default: () => "'{}'" }) tokenAmounts: string[];
}
