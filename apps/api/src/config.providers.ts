import type { Provider } from '@nestjs/common';
import type { ApiConfig } from '@keyvault/config';
import { MasterKeyring } from '@keyvault/crypto';

export const API_CONFIG = Symbol('API_CONFIG');

export function configProviders(config: ApiConfig): Provider[] {
  return [
    { provide: API_CONFIG, useValue: config },
    { provide: MasterKeyring, useValue: new MasterKeyring(config.KEYVAULT_MASTER_KEY, config.KEYVAULT_PREVIOUS_MASTER_KEYS) },
  ];
}
