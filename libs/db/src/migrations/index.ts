import { Initial1796019812151 } from './1796019812151-Initial';
import { AuditStatusIndex1796021578794 } from './1796021578794-AuditStatusIndex';
import { TenantRowLevelSecurity1796024330897 } from './1796024330897-TenantRowLevelSecurity';
import { SpendLeaseExpiry1796024584317 } from './1796024584317-SpendLeaseExpiry';
import { NanoDollars1796532401065 } from './1796532401065-NanoDollars';
import { CallRecords1797018000000 } from './1797018000000-CallRecords';
import { GuardrailsPerCallAndModels1797019000000 } from './1797019000000-GuardrailsPerCallAndModels';
import { GuardrailsDuplicateWindow1797019100000 } from './1797019100000-GuardrailsDuplicateWindow';
import { GuardrailsRateLimits1797019200000 } from './1797019200000-GuardrailsRateLimits';
import { GuardrailsTokensPerMinute1797019300000 } from './1797019300000-GuardrailsTokensPerMinute';
import { GatewayKeys1797020000000 } from './1797020000000-GatewayKeys';
import { KeyGroups1797020100000 } from './1797020100000-KeyGroups';
import { WebhookKindsAndAttempts1797021000000 } from './1797021000000-WebhookKindsAndAttempts';
import { VaultKeyAllowedHeaders1797022000000 } from './1797022000000-VaultKeyAllowedHeaders';
import { AuditCapture1797021000001 } from './1797021000001-AuditCapture';
import { ProxyRole1797022000001 } from './1797022000001-ProxyRole';
import { VaultKeyAllowedInputs1797118000000 } from './1797118000000-VaultKeyAllowedInputs';
import { Budgets1797119000000 } from './1797119000000-Budgets';
import { AuditPartitions1797121000000 } from './1797121000000-AuditPartitions';
import { ApiRoleForcedRowSecurity1797122000000 } from './1797122000000-ApiRoleForcedRowSecurity';
import { CallRecordsTable1797123000000 } from './1797123000000-CallRecordsTable';

/**
 * Every migration, in order. Listed explicitly (not globbed) so that the same list works from
 * compiled JavaScript, the TypeORM CLI and the TypeScript test runner alike.
 * After `migration:generate`, add the new class here; migrations.spec.ts checks none is missing.
 */
export const MIGRATIONS = [
  Initial1796019812151,
  AuditStatusIndex1796021578794,
  TenantRowLevelSecurity1796024330897,
  SpendLeaseExpiry1796024584317,
  NanoDollars1796532401065,
  CallRecords1797018000000,
  GuardrailsPerCallAndModels1797019000000,
  GuardrailsDuplicateWindow1797019100000,
  GuardrailsRateLimits1797019200000,
  GuardrailsTokensPerMinute1797019300000,
  GatewayKeys1797020000000,
  KeyGroups1797020100000,
  WebhookKindsAndAttempts1797021000000,
  AuditCapture1797021000001,
  VaultKeyAllowedHeaders1797022000000,
  ProxyRole1797022000001,
  VaultKeyAllowedInputs1797118000000,
  Budgets1797119000000,
  AuditPartitions1797121000000,
  ApiRoleForcedRowSecurity1797122000000,
  CallRecordsTable1797123000000,
];
