import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { Validate, ValidatorConstraint, ValidatorConstraintInterface, ValidationArguments } from 'class-validator';

const MAX_KEYS = 50;
const MAX_KEY_LENGTH = 40;
const MAX_VALUE_LENGTH = 500;
const KEY = /^[A-Za-z0-9_.-]+$/;

/** Why a value is not a flat metadata map, or null when it is one. */
export function metadataFailure(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object of string values';
  const entries = Object.entries(value);
  if (entries.length > MAX_KEYS) return `may have at most ${MAX_KEYS} keys`;
  for (const [k, v] of entries) {
    if (k.length > MAX_KEY_LENGTH || !KEY.test(k)) {
      return `key "${k.slice(0, MAX_KEY_LENGTH)}" must be 1 to ${MAX_KEY_LENGTH} letters, digits, "_", "." or "-"`;
    }
    if (typeof v !== 'string') return `value of "${k}" must be a string (metadata is flat)`;
    if (v.length > MAX_VALUE_LENGTH) return `value of "${k}" may be at most ${MAX_VALUE_LENGTH} characters`;
  }
  return null;
}

/**
 * Vault-key metadata (e.g. user_id, conversation_id): a flat map of short strings, so it can be
 * matched with `metadata @> {...}` on its GIN index and never grows into a document store.
 */
@ValidatorConstraint({ name: 'isMetadata' })
class IsMetadataConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return metadataFailure(value) === null;
  }
  defaultMessage(args: ValidationArguments): string {
    return `${args.property} ${metadataFailure(args.value)}`;
  }
}

/**
 * A metadata field, validated as the client sent it: class-transformer's copy of a plain object
 * silently drops keys named like Object.prototype members ("constructor", "toString"), which
 * would widen a filter (and a bulk revocation) without a word.
 */
export const IsMetadata = () =>
  applyDecorators(
    Transform(({ obj, key }) => (obj as Record<string, unknown>)[key], { toClassOnly: true }),
    Validate(IsMetadataConstraint),
  );
