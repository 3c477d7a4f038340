import { createHmac } from 'node:crypto';
import type { Secret } from '@keyvault/crypto';
import { nanosToUsd } from '@keyvault/policy';

export const SIGNATURE_HEADER = 'Keyvault-Signature';
export const EVENT_ID_HEADER = 'Keyvault-Event-Id';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the whole `whsec_...`
 * secret. The timestamp is signed with the body, so a receiver that refuses old timestamps
 * cannot be fed a replayed request (see docs/webhooks.md).
 */
export function signatureHeader(secret: Secret, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret.reveal()).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * The JSON a receiver gets: `{id, type, created_at, data}`. The outbox stores money as integer
 * nano-dollars; the wire shows USD decimals, as everywhere else in the API.
 */
export function eventBody(event: { id: string; type: string; created_at: Date; payload: Record<string, unknown> }): string {
  const { daily_usd_cap_nanos, cap_nanos, spent_nanos, ...rest } = event.payload;
  const data: Record<string, unknown> = { ...rest };
  if (daily_usd_cap_nanos !== undefined) data.daily_usd_cap = nanosToUsd(String(daily_usd_cap_nanos));
  // a profile's budget (credential.cap_*): `cap` names which one, `period` its day or month
  if (cap_nanos !== undefined) data.cap_usd = nanosToUsd(String(cap_nanos));
  if (spent_nanos !== undefined) data[cap_nanos !== undefined ? 'spent_usd' : 'spent_today_usd'] = nanosToUsd(String(spent_nanos));
  return JSON.stringify({ id: event.id, type: event.type, created_at: event.created_at.toISOString(), data });
}
