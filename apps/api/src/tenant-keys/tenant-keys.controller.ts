import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators';
import { DataKeyRotationView } from './data-key-rotation.view';
import { TenantKeysService } from './tenant-keys.service';

@ApiTags('tenants')
@ApiBearerAuth()
@AdminOnly()
@Controller('tenants')
export class TenantKeysController {
  constructor(private readonly tenantKeys: TenantKeysService) {}

  /** A new data key for the tenant; its provider keys and webhook secrets are re-encrypted at once. */
  @Post(':id/rotate-data-key')
  @HttpCode(200)
  @ApiOkResponse({ type: DataKeyRotationView })
  async rotateDataKey(@Param('id') id: string): Promise<DataKeyRotationView> {
    return DataKeyRotationView.of(await this.tenantKeys.rotateDataKey(id));
  }
}
