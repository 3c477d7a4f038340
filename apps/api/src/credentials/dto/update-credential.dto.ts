import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, Length, Matches, MaxLength, ValidateIf } from 'class-validator';
import type { CredentialStrategy } from '@keyvault/db';
import { CREDENTIAL_NAME, CREDENTIAL_NAME_MESSAGE, STRATEGIES } from './create-credential.dto';

/** Every field is optional; `null` is refused except for base_url, where it clears the override. */
export class UpdateCredentialDto {
  @ApiPropertyOptional({ example: 'client_a_openai' })
  @ValidateIf((o: UpdateCredentialDto) => o.name !== undefined)
  @IsString()
  @Length(1, 100)
  @Matches(CREDENTIAL_NAME, { message: CREDENTIAL_NAME_MESSAGE })
  name?: string;

  @ApiPropertyOptional({ enum: STRATEGIES })
  @ValidateIf((o: UpdateCredentialDto) => o.strategy !== undefined)
  @IsIn(STRATEGIES, { message: `strategy must be one of ${STRATEGIES.join(', ')}` })
  strategy?: CredentialStrategy;

  @ApiPropertyOptional({ nullable: true, type: String, description: 'null clears the override (not for openai_compatible).' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  base_url?: string | null;

  @ApiPropertyOptional({ description: 'true makes this the vendor default (unsetting the previous one); false unsets it.' })
  @ValidateIf((o: UpdateCredentialDto) => o.default !== undefined)
  @IsBoolean()
  default?: boolean;
}
