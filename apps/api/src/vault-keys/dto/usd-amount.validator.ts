import { ValidatorConstraint, ValidatorConstraintInterface, ValidationArguments } from 'class-validator';
import { usdToNanos } from '@keyvault/policy';

export const MAX_DAILY_USD_CAP = 1_000_000;

/** A positive USD amount that converts exactly to nano-dollars (at most 9 decimals). */
@ValidatorConstraint({ name: 'isUsdCap' })
export class IsUsdCap implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'number' || !(value > 0) || value > MAX_DAILY_USD_CAP) return false;
    const nanos = usdToNanos(value);
    return nanos !== null && nanos > 0n;
  }
  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be a number of USD above 0 and at most ${MAX_DAILY_USD_CAP}, with at most 9 decimals`;
  }
}
