import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** Serves the OpenAPI 3 document at /openapi.json and Swagger UI (local assets) at /docs. */
export function mountOpenApi(app: INestApplication, title: string, description: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle(title)
    .setDescription(description)
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'KEYVAULT_ADMIN_TOKEN or a tenant API key (kv_live_...)' })
    .addGlobalParameters({
      name: 'Keyvault-Tenant',
      in: 'header',
      required: false,
      description: 'Admin only: act inside this tenant (ten_...)',
      schema: { type: 'string' },
    })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', useGlobalPrefix: false });
  return document;
}
