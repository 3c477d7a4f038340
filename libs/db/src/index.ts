export * from './entities';
export * from './data-source-options';
export * from './migrate';
export * from './notify';
export * from './pagination';
export * from './database.module';
export * from './outbox';
export * from './revocation';
