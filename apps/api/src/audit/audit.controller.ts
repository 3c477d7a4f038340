import { Controller, Get, Logger, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { pipeline } from 'node:stream';
import { toList } from '@keyvault/db';
import { RequireScope, TenantId } from '../auth/auth.decorators';
import { AuditEntryDetailView, AuditEntryView } from './audit-entry.view';
import { EXPORT_CONTENT_TYPES } from './audit-export.format';
import { AuditService } from './audit.service';
import { AuditExportQueryDto, AuditListQueryDto } from './dto/audit-filters.dto';

@ApiTags('audit')
@ApiBearerAuth()
@RequireScope('audit:read')
@Controller('audit')
export class AuditController {
  private readonly logger = new Logger(AuditController.name);

  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOkResponse({ description: 'A list of audit entries, newest first', type: AuditEntryView, isArray: true })
  async list(@TenantId() tenantId: string, @Query() q: AuditListQueryDto) {
    const { limit, starting_after, ...filters } = q;
    const { rows, has_more } = await this.audit.list(tenantId, filters, { limit, starting_after });
    return toList(rows.map(AuditEntryView.of), has_more);
  }

  /** Every matching row, newest first, streamed (JSON Lines or CSV with a header row). */
  @Get('export')
  @ApiProduces(...Object.values(EXPORT_CONTENT_TYPES))
  async export(@TenantId() tenantId: string, @Query() q: AuditExportQueryDto, @Res() reply: FastifyReply): Promise<void> {
    const { format, ...filters } = q;
    const body = await this.audit.export(tenantId, filters, format);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    // Streamed by hand, so that a failure mid-way is logged here (Fastify would not log it)
    reply.hijack();
    const res = reply.raw;
    res.statusCode = 200;
    res.setHeader('Content-Type', EXPORT_CONTENT_TYPES[format]);
    res.setHeader('Content-Disposition', `attachment; filename="audit-${tenantId}-${stamp}.${format}"`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    pipeline(body, res, (err) => {
      // The status is sent already: a failure mid-way can only cut the response short, which
      // the client sees as a truncated chunked body rather than a complete file.
      if (err && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') this.logger.warn({ err: { name: err.name, message: err.message } }, 'audit export failed');
    });
  }

  /** One entry, with what the proxy captured of the call when its key had `capture` set. */
  @Get(':id')
  @ApiOkResponse({ type: AuditEntryDetailView })
  async get(@TenantId() tenantId: string, @Param('id') id: string): Promise<AuditEntryDetailView> {
    const { row, capture } = await this.audit.get(tenantId, id);
    return { ...AuditEntryView.of(row), capture };
  }
}
