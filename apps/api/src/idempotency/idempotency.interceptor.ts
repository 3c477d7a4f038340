import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, Observable, of, switchMap, catchError, throwError } from 'rxjs';
import { DataSource } from 'typeorm';
import { aad as aadFor, MasterKeyring, sha256Hex } from '@keyvault/crypto';
import { KeyvaultError } from '@keyvault/errors';
import type { AuthenticatedRequest } from '../auth/principal';
import { IDEMPOTENT } from './idempotent.decorator';

/** Records older than this are forgotten (Stripe keeps them 24 hours too). */
const RETENTION_HOURS = 24;
/**
 * A claim still in progress after this long was abandoned: its request failed and could not
 * release it (the database went away mid-request). Far longer than any create takes, so a
 * running request is never taken over, and short enough that a client's retry succeeds.
 */
const ABANDONED_CLAIM_SECONDS = 60;

/**
 * Idempotency-Key on creates: the first response is stored (sealed under the master key, since
 * a create may return a secret shown once) and replayed for the same key and body; another body
 * with the same key is a 409. A key whose first request is still running is a 409 as well.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly keyring: MasterKeyring,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.reflector.get<boolean>(IDEMPOTENT, ctx.getHandler())) return next.handle();
    const req = ctx.switchToHttp().getRequest<FastifyRequest & AuthenticatedRequest>();
    const res = ctx.switchToHttp().getResponse<FastifyReply>();
    const raw = req.headers['idempotency-key'];
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (key === undefined) return next.handle();
    if (key.length < 1 || key.length > 255) {
      throw new KeyvaultError('parameter_invalid', 'Idempotency-Key must be 1 to 255 characters.', 'Idempotency-Key');
    }
    const p = req.principal!;
    const scope = p.kind === 'admin' ? `admin:${p.tenantId ?? ''}` : p.tenantId;
    // the path as sent, without the query (what Express called req.path: stored hashes stay valid)
    const path = req.url.split('?', 1)[0];
    const requestHash = sha256Hex(`${req.method} ${path}\n${JSON.stringify(req.body ?? {})}`);
    const aad = aadFor.idempotentResponse(scope, key);

    return from(this.claim(scope, key, requestHash)).pipe(
      switchMap((replay) => {
        if (replay) {
          res.code(replay.status);
          res.header('Idempotent-Replayed', 'true');
          return of(replay.body);
        }
        return next.handle().pipe(
          switchMap((body) => from(this.store(scope, key, this.statusOf(ctx), body, aad)).pipe(switchMap(() => of(body)))),
          catchError((err) => from(this.release(scope, key)).pipe(switchMap(() => throwError(() => err)))),
        );
      }),
    );
  }

  /** The status Nest will answer with (it is set after interceptors run). */
  private statusOf(ctx: ExecutionContext): number {
    return this.reflector.get<number>(HTTP_CODE_METADATA, ctx.getHandler()) ?? 201;
  }

  /** Returns the stored response to replay, or null when this request now owns the key. */
  private async claim(scope: string, key: string, requestHash: string): Promise<{ status: number; body: unknown } | null> {
    await this.db.query(
      `DELETE FROM idempotency_records
        WHERE scope = $1 AND idempotency_key = $2
          AND (created_at < now() - interval '${RETENTION_HOURS} hours'
               OR (status_code IS NULL AND created_at < now() - interval '${ABANDONED_CLAIM_SECONDS} seconds'))`,
      [scope, key],
    );
    const inserted: unknown[] = await this.db.query(
      `INSERT INTO idempotency_records (scope, idempotency_key, request_hash) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [scope, key, requestHash],
    );
    if (inserted.length > 0) return null;
    const rows: { request_hash: string; status_code: number | null; response_sealed: Buffer | null; master_key_id: string | null }[] =
      await this.db.query(
        'SELECT request_hash, status_code, response_sealed, master_key_id FROM idempotency_records WHERE scope = $1 AND idempotency_key = $2',
        [scope, key],
      );
    const rec = rows[0];
    if (!rec) return this.claim(scope, key, requestHash); // released meanwhile: try again
    if (rec.request_hash !== requestHash) {
      throw new KeyvaultError('idempotency_key_reused', 'This Idempotency-Key was already used with another request body.', 'Idempotency-Key');
    }
    if (rec.status_code === null || !rec.response_sealed || !rec.master_key_id) {
      throw new KeyvaultError('idempotency_key_in_use', 'A request with this Idempotency-Key is still in progress.', 'Idempotency-Key');
    }
    const body = JSON.parse(this.keyring.unwrap(rec.response_sealed, rec.master_key_id, aadFor.idempotentResponse(scope, key)).toString('utf8'));
    return { status: rec.status_code, body };
  }

  private async store(scope: string, key: string, status: number, body: unknown, aad: string): Promise<void> {
    const { wrapped, masterKeyId } = this.keyring.wrap(Buffer.from(JSON.stringify(body ?? null), 'utf8'), aad);
    await this.db.query(
      'UPDATE idempotency_records SET status_code = $3, response_sealed = $4, master_key_id = $5 WHERE scope = $1 AND idempotency_key = $2',
      [scope, key, status, wrapped, masterKeyId],
    );
  }

  private async release(scope: string, key: string): Promise<void> {
    await this.db.query('DELETE FROM idempotency_records WHERE scope = $1 AND idempotency_key = $2 AND status_code IS NULL', [scope, key]);
  }
}
