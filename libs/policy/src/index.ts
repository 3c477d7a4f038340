export * from './duration';
export * from './money';
