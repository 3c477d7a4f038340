import { Column, ColumnOptions, CreateDateColumn, PrimaryColumn, ValueTransformer } from 'typeorm';

/** pg returns bigint as string; money and counters are bigint nano-dollars in TypeScript. */
export const bigintTransformer: ValueTransformer = {
  to: (v: bigint | number | null | undefined) => (v === null || v === undefined ? v : v.toString()),
  from: (v: string | null) => (v === null ? null : BigInt(v)),
};

/** Prefixed, time-ordered ids compare bytewise so cursor paging can use the id alone. */
export const IdColumn = () => PrimaryColumn({ type: 'text', collation: 'C' });
export const RefColumn = (options: ColumnOptions = {}) => Column({ type: 'text', collation: 'C', ...options });
export const NanosColumn = (options: ColumnOptions = {}) =>
  Column({ type: 'bigint', transformer: bigintTransformer, default: 0, ...options });
export const CreatedAt = () => CreateDateColumn({ type: 'timestamptz', name: 'created_at' });
