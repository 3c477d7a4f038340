export * from './client';
export * from './errors';
export * from './types';
export type { components, operations, paths } from './openapi.generated';
