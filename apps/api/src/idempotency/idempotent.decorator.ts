import { SetMetadata } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { applyDecorators } from '@nestjs/common';

export const IDEMPOTENT = 'keyvault:idempotent';

/** A create route that honours the Idempotency-Key header. */
export const Idempotent = () =>
  applyDecorators(
    SetMetadata(IDEMPOTENT, true),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description: 'Same key and body: the first result again. Same key, other body: 409 idempotency_key_reused.',
    }),
  );
