export * from './duration';
export * from './money';
export * from './request-path';
export * from './endpoint-rules';
export * from './price-book';
export * from './utc-day';
export * from './sms-segments';
export * from './budget-lease';
