import { ValidateIf } from 'class-validator';

/**
 * The field may be left out of a request body; `null` is validated like any other value, so the
 * field's own rules refuse it with a coded 400. class-validator's IsOptional skips `null` as if the
 * field were absent, and the service then read it as a value: `max_usd_per_call: null` was a 500.
 * Fields where null means something (clear an override, remove a cap) say so themselves.
 */
export const Omittable = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);
