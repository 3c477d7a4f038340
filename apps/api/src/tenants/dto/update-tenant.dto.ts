import { PartialType } from '@nestjs/swagger';
import { CreateTenantDto } from './create-tenant.dto';

/** Every field may be absent; none may be null (a tenant always has a name, a slug and a max TTL). */
export class UpdateTenantDto extends PartialType(CreateTenantDto, { skipNullProperties: false }) {}
