export * from './error-codes';
export * from './keyvault-error';
export * from './exception.filter';
export * from './validation';
export * from './database-unavailable';
export * from './client-error';
