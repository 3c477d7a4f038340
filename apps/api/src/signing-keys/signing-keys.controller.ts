import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { toList } from '@keyvault/db';
import { AdminOnly } from '../auth/auth.decorators';
import { SigningKeyView } from './signing-key.view';
import { SigningKeysService } from './signing-keys.service';

@ApiTags('signing keys')
@ApiBearerAuth()
@AdminOnly()
@Controller('signing-keys')
export class SigningKeysController {
  constructor(private readonly signingKeys: SigningKeysService) {}

  /** Every key, newest first: the active one and the retired ones still verifying older tokens. */
  @Get()
  async list() {
    return toList((await this.signingKeys.list()).map(SigningKeyView.of), false);
  }

  @Post('rotate')
  @HttpCode(200)
  @ApiOkResponse({ type: SigningKeyView, description: 'The new active key' })
  async rotate(): Promise<SigningKeyView> {
    return SigningKeyView.of(await this.signingKeys.rotate());
  }
}
