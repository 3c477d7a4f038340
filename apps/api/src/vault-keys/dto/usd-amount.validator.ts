import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Validate, ValidateIf, ValidatorConstraint, ValidatorConstraintInterface, ValidationArguments } from 'class-validator';
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

/**
 * A cap above the vault keys (a profile's day or month, a tenant's month): optional, a USD amount
 * as IsUsdCap says, or null for none (on update, null removes it).
 */
export function NullableUsdCap(doc: { example: number; description: string }): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ nullable: true, type: Number, ...doc }),
    ValidateIf((_: unknown, v: unknown) => v !== undefined && v !== null),
    Validate(IsUsdCap),
  );
}
