import { Module } from '@nestjs/common';
import { ConsoleController } from './console.controller';

/** The operator console: a static single-page app under /console. */
@Module({ controllers: [ConsoleController] })
export class ConsoleModule {}
