import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
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

  @Get(['', '{*path}'])
  serve(@Param('path') path: string[] | undefined, @Res() res: Response): void {
    this.root ??= findConsoleRoot();
    if (!this.root) throw new KeyvaultError('route_not_found', 'The console is not built: run `npm run build`.');

    const target = resolveConsoleFile(this.root, path ?? []);
    if (target.kind === 'missing') throw new KeyvaultError('route_not_found', 'Unrecognized request URL.');

    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (target.kind === 'file') {
      // Vite names files under assets/ by content hash, so they never change; the rest may.
      res.setHeader('Cache-Control', target.immutable ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache');
      res.sendFile(target.path, { dotfiles: 'deny' });
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile('index.html', { root: this.root });
  }
}
