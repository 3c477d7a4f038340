import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class CreateGatewayKeyDto {
  @ApiProperty({ example: 'dify production', description: 'What the key is pasted into, for the operator' })
  @IsString()
  @Length(1, 200)
  name: string;
}
