import send from '@fastify/send';
import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KeyvaultError } from '@keyvault/errors';
import { Public } from '../auth/auth.decorators';
import { findConsoleRoot, resolveConsoleFile } from './console-files';

/**
 * Everything the page loads comes from this origin: the console's own script and style, and
 * the api it calls. Nothing inline, nothing from a CDN, and no framing (clickjacking a revoke).
 */
export const CONSOLE_CSP = "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'";

const YEAR_SECONDS = 365 * 24 * 3600;

/**
 * Serves the operator console built into dist/console. Public because the page holds no data:
 * it signs in with an API key and reads everything through the authenticated api.
 */
@ApiExcludeController()
@Public()
@Controller('console')
export class ConsoleController {
  private root = findConsoleRoot();

  // Fastify's router takes its own wildcard syntax, named '*'
  @Get(['', '*'])
  async serve(@Param('*') path: string | undefined, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    this.root ??= findConsoleRoot();
    if (!this.root) throw new KeyvaultError('route_not_found', 'The console is not built: run `npm run build`.');

    const target = resolveConsoleFile(this.root, path?.split('/') ?? []);
    if (target.kind === 'missing') throw new KeyvaultError('route_not_found', 'Unrecognized request URL.');

    // Vite names files under assets/ by content hash, so they never change; the rest may.
    const cacheControl = target.kind === 'file' && target.immutable ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache';
    // send() decodes the path it is given, as Express's sendFile does after encoding it
    const file = target.kind === 'file' ? encodeURI(target.path) : '/index.html';
    const sent = await send(req.raw, file, { root: target.kind === 'file' ? undefined : this.root, dotfiles: 'deny', cacheControl: false });
    // the file went away since it was resolved
    if (sent.type === 'error') throw new KeyvaultError('route_not_found', 'Unrecognized request URL.');
    reply
      .code(sent.statusCode)
      .headers({
        ...sent.headers,
        'Content-Security-Policy': CONSOLE_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': cacheControl,
      })
      .send(sent.stream);
  }
}
