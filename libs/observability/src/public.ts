import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'keyvault:public';
/** Marks a route that needs no credentials (health, metrics). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
