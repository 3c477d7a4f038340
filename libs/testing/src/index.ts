export * from './database';
export * from './config';
