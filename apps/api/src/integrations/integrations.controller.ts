import { Controller, Get, Query, Req } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { OpenAPIV3 } from 'openapi-types';
import { Public } from '../auth/auth.decorators';
import { DifyToolQueryDto } from './dto/dify-tool-query.dto';
import { IntegrationsService } from './integrations.service';

@ApiTags('integrations')
@Controller('integrations')
export class IntegrationsController {
  constructor(private readonly integrations: IntegrationsService) {}

  /**
   * Public on purpose: Dify's "Import from URL" fetches a tool schema with a bare GET (no way to add
   * a header), and the document holds no secret, only the proxy's URL and the vendors' own paths.
   */
  @Get('dify/openapi.json')
  @Public()
  @ApiOkResponse({
    description: 'OpenAPI 3.0 schema of a Dify custom tool that calls the vendor through the proxy with a vault key.',
    schema: { type: 'object', additionalProperties: true },
  })
  difyTool(@Query() q: DifyToolQueryDto, @Req() req: FastifyRequest): OpenAPIV3.Document {
    return this.integrations.difyTool(q.vendor, { protocol: req.protocol, host: req.headers.host });
  }
}
