import { KeyvaultError } from '@keyvault/errors';
import type { ResponseMeter } from './vendor-adapter';

/** The request body as a JSON object, or 400 invalid_json. */
export function jsonObject(body: Buffer): Record<string, unknown> {
  const parsed = jsonValue(body);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new KeyvaultError('invalid_json', 'Request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/** The request body as a JSON array, or 400 invalid_json. */
export function jsonArray(body: Buffer): unknown[] {
  const parsed = jsonValue(body);
  if (!Array.isArray(parsed)) throw new KeyvaultError('invalid_json', 'Request body must be a JSON array.');
  return parsed;
}

function jsonValue(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new KeyvaultError('invalid_json', 'Request body is not valid JSON.');
  }
}

/** A non-negative integer, or undefined. */
export function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Larger JSON answers are not parsed for their cost: the reserved worst case is charged. */
const MAX_METERED_JSON_BYTES = 8 * 1024 * 1024;

/**
 * Meters a JSON response body: passes every chunk through at once, keeps a copy, and reads the
 * cost from the whole document at the end (`cost` returns null when it is not there).
 */
export class JsonBodyMeter implements ResponseMeter {
  readonly rewrites = false;
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly cost: (document: Record<string, unknown>) => bigint | null) {}

  transform(chunk: Buffer): Buffer {
    this.size += chunk.length;
    if (this.size <= MAX_METERED_JSON_BYTES) this.chunks.push(chunk);
    return chunk;
  }

  finish(): { costNanos: bigint | null } {
    if (this.size > MAX_METERED_JSON_BYTES) return { costNanos: null };
    try {
      const doc: unknown = JSON.parse(Buffer.concat(this.chunks, this.size).toString('utf8'));
      return { costNanos: typeof doc === 'object' && doc !== null ? this.cost(doc as Record<string, unknown>) : null };
    } catch {
      return { costNanos: null };
    }
  }
}
