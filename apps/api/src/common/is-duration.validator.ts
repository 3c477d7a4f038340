import { ValidatorConstraint, ValidatorConstraintInterface, ValidationArguments } from 'class-validator';
import { parseDuration } from '@keyvault/policy';

@ValidatorConstraint({ name: 'isDuration' })
export class IsDuration implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return parseDuration(value) !== null;
  }
  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be a duration such as 30m, 2h, 72h or 7d`;
  }
}
