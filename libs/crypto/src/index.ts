export * from './ids';
export * from './secret';
export * from './envelope';
export * from './hashing';
export * from './vault-key-token';
export * from './tenant-keys';
export * from './gateway-key-token';
