import { Inject, Injectable } from '@nestjs/common';
import type { OpenAPIV3 } from 'openapi-types';
import type { ApiConfig } from '@keyvault/config';
import { API_CONFIG } from '../config.providers';
import { difyToolSchema, type DifyToolVendor } from './dify-tool-schema';

/** The proxy's default port (PROXY_PORT), assumed when no public proxy URL is configured. */
const DEFAULT_PROXY_PORT = '8080';

@Injectable()
export class IntegrationsService {
  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  difyTool(vendor: DifyToolVendor, request: { protocol: string; host: string | undefined }): OpenAPIV3.Document {
    return difyToolSchema(vendor, this.publicProxyUrl(request));
  }

  /**
   * KEYVAULT_PUBLIC_PROXY_URL when set. Otherwise the host the caller reached the api on, at the
   * proxy's default port: right for `npm start` and single-host setups, where both apps share a name.
   */
  private publicProxyUrl({ protocol, host }: { protocol: string; host: string | undefined }): string {
    const configured = this.config.KEYVAULT_PUBLIC_PROXY_URL;
    if (configured) return configured.replace(/\/+$/, '');
    try {
      const url = new URL(`${protocol}://${host ?? 'localhost'}`);
      url.port = DEFAULT_PROXY_PORT;
      return url.origin;
    } catch {
      // A Host header that is no host name (it is client-supplied) gets the local default.
      return `http://localhost:${DEFAULT_PROXY_PORT}`;
    }
  }
}
