import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { API_KEY_SCOPES } from '@keyvault/db';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';

export class WhoAmIView {
  @ApiProperty({ enum: ['whoami'] }) object: 'whoami';
  @ApiProperty({ enum: ['admin', 'api_key'] }) kind: string;
  @ApiPropertyOptional({ nullable: true, type: String }) tenant: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) api_key: string | null;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes: string[];
}

/** Who the caller is: lets a client (the console, the CLI) check a key before using it. */
@ApiTags('me')
@ApiBearerAuth()
@Controller('me')
export class MeController {
  @Get()
  @ApiOkResponse({ type: WhoAmIView })
  whoami(@CurrentPrincipal() p: Principal): WhoAmIView {
    return p.kind === 'admin'
      ? { object: 'whoami', kind: 'admin', tenant: p.tenantId, api_key: null, scopes: [...API_KEY_SCOPES] }
      : { object: 'whoami', kind: 'api_key', tenant: p.tenantId, api_key: p.apiKeyId, scopes: [...p.scopes] };
  }
}
