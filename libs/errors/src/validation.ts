import { ValidationError, ValidationPipe } from '@nestjs/common';
import { KeyvaultError } from './keyvault-error';

/** Flattens class-validator's tree to the first failing property path, e.g. `keys.0` or `metadata`. */
function firstFailure(errors: ValidationError[], prefix = ''): { param: string; message: string; unknown: boolean } | null {
  for (const e of errors) {
    const param = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints && Object.keys(e.constraints).length > 0) {
      const [kind, message] = Object.entries(e.constraints)[0];
      return { param, message, unknown: kind === 'whitelistValidation' };
    }
    const nested = firstFailure(e.children ?? [], param);
    if (nested) return nested;
  }
  return null;
}

/** The one global ValidationPipe: unknown fields are errors, failures become 400 with `param`. */
export function keyvaultValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: true,
    exceptionFactory: (errors) => {
      const f = firstFailure(errors);
      if (!f) return new KeyvaultError('parameter_invalid', 'Invalid request.');
      if (f.unknown) return new KeyvaultError('parameter_unknown', `Received unknown parameter: ${f.param}`, f.param);
      return new KeyvaultError('parameter_invalid', f.message, f.param);
    },
  });
}
