import { Module } from '@nestjs/common';
import { TenantKeysController } from './tenant-keys.controller';
import { TenantKeysService } from './tenant-keys.service';

@Module({ controllers: [TenantKeysController], providers: [TenantKeysService] })
export class TenantKeysModule {}
