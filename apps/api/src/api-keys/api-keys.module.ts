import { Module } from '@nestjs/common';
import { TenantsModule } from '../tenants/tenants.module';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';

@Module({ imports: [TenantsModule], controllers: [ApiKeysController], providers: [ApiKeysService] })
export class ApiKeysModule {}
