import { Module } from '@nestjs/common';
import { SigningKeysModule } from '../signing-keys/signing-keys.module';
import { VaultKeysController } from './vault-keys.controller';
import { VaultKeysService } from './vault-keys.service';

@Module({ imports: [SigningKeysModule], controllers: [VaultKeysController], providers: [VaultKeysService] })
export class VaultKeysModule {}
