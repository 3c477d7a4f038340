/**
 * Node socket errors and Postgres SQLSTATEs that mean "the database cannot be reached or is
 * going away", as opposed to a query that is wrong: 08xxx connection exceptions, 57P01-03
 * (shutdown, crash recovery, not accepting connections), 53300 (too many connections).
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  '57P01', '57P02', '57P03', '53300',
]);
/** What node-postgres and its pool say when a connection dies, times out or never opens. */
const UNREACHABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|is not queryable|Client was closed|Connection ended unexpectedly|terminating connection/i;

/**
 * True when an error (or the driver error / cause it wraps: TypeORM's QueryFailedError keeps
 * pg's in `driverError`) says the database is unreachable, so the caller answers 503
 * vault_unavailable rather than a 500: a vault that cannot reach its database fails closed,
 * visibly, and recovers on its own once the pool reconnects.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (depth > 3 || err === null || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && (UNREACHABLE_CODES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  if (typeof e.message === 'string' && UNREACHABLE_MESSAGE.test(e.message)) return true;
  return isDatabaseUnavailable(e.driverError, depth + 1) || isDatabaseUnavailable(e.cause, depth + 1);
}
