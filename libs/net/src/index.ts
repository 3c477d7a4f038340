export * from './address';
export * from './safe-url';
export * from './client-address';
export * from './failed-auth-limiter';
