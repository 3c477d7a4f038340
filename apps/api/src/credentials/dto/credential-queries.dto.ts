import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { VENDORS, type Vendor } from '@keyvault/config';
import { ListQueryDto } from '../../common/list-query.dto';

export class ListCredentialsQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ enum: VENDORS })
  @IsOptional()
  @IsIn(VENDORS, { message: `vendor must be one of ${VENDORS.join(', ')}` })
  vendor?: Vendor;
}

export class DeleteCredentialQueryDto {
  @ApiPropertyOptional({ enum: ['true', 'false'], default: 'false', description: 'Revoke the active vault keys that use this profile, in the same transaction.' })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'revoke_vault_keys must be true or false' })
  revoke_vault_keys?: 'true' | 'false';
}
