export * from './database';
export * from './config';
export * from './tcp-relay';
export * from './stubs/stub-server';
export * from './stubs/openai-stub';
export * from './stubs/stripe-stub';
export * from './run-capture';
