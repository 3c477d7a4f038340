import { AuditCapture } from './audit-capture.entity';
import { AuditEntry } from './audit-entry.entity';
import { BudgetReservation } from './budget-reservation.entity';
import { BudgetSpend } from './budget-spend.entity';
import { CallRecord } from './call-record.entity';
import { CredentialKey } from './credential-key.entity';
import { CredentialProfile } from './credential-profile.entity';
import { DuplicateCall } from './duplicate-call.entity';
import { GatewayKey } from './gateway-key.entity';
import { IdempotencyRecord } from './idempotency-record.entity';
import { RateWindow } from './rate-window.entity';
import { SigningKey } from './signing-key.entity';
import { SpendReservation } from './spend-reservation.entity';
import { Tenant } from './tenant.entity';
import { TenantApiKey } from './tenant-api-key.entity';
import { VaultKey } from './vault-key.entity';
import { VaultKeySpend } from './vault-key-spend.entity';
import { Webhook } from './webhook.entity';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookDeliveryAttempt } from './webhook-delivery-attempt.entity';
import { WebhookEvent } from './webhook-event.entity';

export * from './columns';
export {
  AuditEntry, CredentialKey, CredentialProfile, DuplicateCall, GatewayKey, IdempotencyRecord, RateWindow, SigningKey, SpendReservation,
  Tenant, TenantApiKey, VaultKey, VaultKeySpend, Webhook, WebhookDelivery, WebhookEvent,
  WebhookDeliveryAttempt, AuditCapture, BudgetSpend, BudgetReservation, CallRecord,
};
export * from './tenant.entity';
export * from './tenant-api-key.entity';
export * from './credential-profile.entity';
export * from './credential-key.entity';
export * from './webhook.entity';
export * from './webhook-delivery.entity';
export * from './vault-key.entity';

export const ENTITIES = [
  AuditEntry, CredentialKey, CredentialProfile, DuplicateCall, GatewayKey, IdempotencyRecord, RateWindow, SigningKey, SpendReservation,
  Tenant, TenantApiKey, VaultKey, VaultKeySpend, Webhook, WebhookDelivery, WebhookEvent,
  WebhookDeliveryAttempt, AuditCapture, BudgetSpend, BudgetReservation, CallRecord,
];
