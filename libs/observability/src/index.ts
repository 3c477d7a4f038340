export * from './redaction';
export * from './logger';
export * from './framework-logger';
export * from './metrics';
export * from './health';
export * from './openapi';
export * from './public';
export * from './cluster-metrics';
