import { isEmail, ValidateBy, type ValidationOptions } from 'class-validator';

/** With the u flag a surrogate pair is one code point: only an unpaired half matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * An email address, as class-validator's IsEmail checks it, but false instead of a throw for text
 * that is not well-formed UTF-16: validator.js runs encodeURI on it, which throws URIError on a lone
 * surrogate (`to: ["\ud800"]` was a 500).
 */
export function IsEmailAddress(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    { name: 'isEmailAddress', validator: { validate: (value: unknown) => typeof value === 'string' && !LONE_SURROGATE.test(value) && isEmail(value) } },
    options,
  );
}
