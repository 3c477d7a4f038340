import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayUnique, IsArray, IsIn, IsString, Length } from 'class-validator';
import { Omittable } from '../../common/omittable';
import { API_KEY_SCOPES, type ApiKeyScope } from '@keyvault/db';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'chat backend' })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiPropertyOptional({ enum: API_KEY_SCOPES, isArray: true, description: 'Default: every scope.' })
  @Omittable()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(API_KEY_SCOPES.length)
  @IsIn(API_KEY_SCOPES, { each: true, message: `each scope must be one of ${API_KEY_SCOPES.join(', ')}` })
  scopes?: ApiKeyScope[];
}
