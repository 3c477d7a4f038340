/**
 * The guardrails' statements (see GuardrailChecks). Each is one atomic statement, so two proxy
 * instances deciding at the same moment see one outcome.
 */

/**
 * Claims a fingerprint for a key's duplicate window, or answers the live claim of the first call.
 * ON CONFLICT DO UPDATE locks the row and reads its latest version, so of two concurrent calls
 * exactly one finds its own audit id returned; a claim past its window is taken over.
 * $1 vault key, $2 fingerprint, $3 this call's audit id, $4 the Idempotency-Key it would send
 * (Stripe; null otherwise), $5 window seconds. Answers the first call's audit id and key.
 */
export const CLAIM_DUPLICATE = `
  INSERT INTO duplicate_calls AS d (vault_key_id, fingerprint, audit_id, idempotency_key, expires_at)
  VALUES ($1, $2, $3, $4, now() + $5::int * interval '1 second')
  ON CONFLICT (vault_key_id, fingerprint) DO UPDATE
     SET audit_id = CASE WHEN d.expires_at <= now() THEN excluded.audit_id ELSE d.audit_id END,
         idempotency_key = CASE WHEN d.expires_at <= now() THEN excluded.idempotency_key ELSE d.idempotency_key END,
         expires_at = CASE WHEN d.expires_at <= now() THEN excluded.expires_at ELSE d.expires_at END
  RETURNING audit_id, idempotency_key`;

/** Gives up a claim whose call surely did nothing. $1 vault key, $2 fingerprint, $3 the claiming call's audit id. */
export const RELEASE_DUPLICATE = `DELETE FROM duplicate_calls WHERE vault_key_id = $1 AND fingerprint = $2 AND audit_id = $3`;

/** Claims past their window are dead weight (a new call takes one over anyway). */
export const PRUNE_DUPLICATES = `DELETE FROM duplicate_calls WHERE expires_at < now() - interval '1 minute'`;

/**
 * Admits one call against a key's max_calls_per_minute (keyvault_rate_admit, migration
 * GuardrailsRateLimits: exact across instances). $1 vault key, $2 limit. Answers 0 when
 * admitted, else the milliseconds until a call may be admitted.
 */
export const RATE_ADMIT = `SELECT keyvault_rate_admit($1, $2, ${60_000_000})::text AS wait_ms`;

/**
 * Admits one LLM call's worst-case tokens against max_tokens_per_minute (keyvault_token_admit,
 * migration GuardrailsTokensPerMinute). $1 vault key, $2 limit, $3 tokens. Answers
 * {0, stamp} when admitted, else {milliseconds to wait, 0}.
 */
export const TOKENS_ADMIT = `SELECT keyvault_token_admit($1, $2, $3, ${60_000_000})::text[] AS r`;

/** Settles an admitted call's tokens to what it used. $1 vault key, $2 its stamp, $3 tokens (never above what was admitted). */
export const TOKENS_SETTLE = `
  UPDATE rate_windows SET token_amounts[array_position(token_stamps, $2::bigint)] = LEAST(token_amounts[array_position(token_stamps, $2::bigint)], $3::bigint)
   WHERE vault_key_id = $1 AND $2::bigint = ANY(token_stamps)`;
