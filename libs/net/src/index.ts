export * from './address';
export * from './safe-url';
