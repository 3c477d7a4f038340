import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

export interface ListPage<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

/**
 * Cursor paging newest first over time-ordered ids: `starting_after` is the last id the caller
 * saw. Fetches one extra row to know `has_more` without a count.
 */
export async function pageByCursor<E extends ObjectLiteral>(
  qb: SelectQueryBuilder<E>,
  alias: string,
  { limit, starting_after }: { limit: number; starting_after?: string },
): Promise<{ rows: E[]; has_more: boolean }> {
  if (starting_after) qb.andWhere(`${alias}.id < :starting_after`, { starting_after });
  const rows = await qb.orderBy(`${alias}.id`, 'DESC').limit(limit + 1).getMany();
  return { rows: rows.slice(0, limit), has_more: rows.length > limit };
}

export const toList = <T>(data: T[], has_more: boolean): ListPage<T> => ({ object: 'list', data, has_more });
