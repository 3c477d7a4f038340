export * from './address';
export * from './safe-url';
export * from './failed-auth-limiter';
