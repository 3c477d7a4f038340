import { Module } from '@nestjs/common';
import { GatewayKeysController } from './gateway-keys.controller';
import { GatewayKeysService } from './gateway-keys.service';

@Module({ controllers: [GatewayKeysController], providers: [GatewayKeysService] })
export class GatewayKeysModule {}
