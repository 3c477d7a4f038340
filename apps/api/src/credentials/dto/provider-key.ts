import { Transform } from 'class-transformer';
import { ValidateBy, type ValidationOptions } from 'class-validator';
import { Secret } from '@keyvault/crypto';

export const PROVIDER_KEY_MIN = 8;
export const PROVIDER_KEY_MAX = 4096;
const SHAPE = new RegExp(`^\\S{${PROVIDER_KEY_MIN},${PROVIDER_KEY_MAX}}$`);

const toSecret = (v: unknown): unknown => (typeof v === 'string' ? new Secret(v) : v);

/**
 * Wraps provider keys in `Secret` as the body becomes a DTO, before validation runs, so from
 * here on nothing (a log line, an error, a debugger) can print them by accident.
 */
export const ToSecret = () => Transform(({ value }) => (Array.isArray(value) ? value.map(toSecret) : toSecret(value)));

/** A provider key: 8 to 4096 characters, no whitespace. The message never includes the value. */
export const IsProviderKey = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isProviderKey',
      validator: {
        validate: (v: unknown) => v instanceof Secret && SHAPE.test(v.reveal()),
        defaultMessage: (args) =>
          `${options?.each ? 'each value in ' : ''}${args?.property} must be a string of ${PROVIDER_KEY_MIN} to ${PROVIDER_KEY_MAX} characters without whitespace`,
      },
    },
    options,
  );
