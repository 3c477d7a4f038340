import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { toList } from '@keyvault/db';
import { RequireScope, TenantId } from '../auth/auth.decorators';
import { ListQueryDto } from '../common/list-query.dto';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { CreateWebhookDto } from './dto/create-webhook.dto';
import { CreatedWebhookView, WebhookDeliveryView, WebhookView } from './webhook.view';
import { WebhooksService } from './webhooks.service';

@ApiTags('webhooks')
@ApiBearerAuth()
@RequireScope('webhooks:write')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @Idempotent()
  @ApiCreatedResponse({ type: CreatedWebhookView })
  async create(@TenantId() tenantId: string, @Body() dto: CreateWebhookDto): Promise<CreatedWebhookView> {
    const { webhook, secret } = await this.webhooks.create(tenantId, dto);
    // Slack and email deliveries are not signed: their secret is never used, so never shown.
    return webhook.kind === 'signed' ? { ...WebhookView.of(webhook), secret } : WebhookView.of(webhook);
  }

  @Get()
  async list(@TenantId() tenantId: string, @Query() q: ListQueryDto) {
    const { rows, has_more } = await this.webhooks.list(tenantId, q);
    return toList(rows.map(WebhookView.of), has_more);
  }

  @Get(':id')
  @ApiOkResponse({ type: WebhookView })
  async get(@TenantId() tenantId: string, @Param('id') id: string): Promise<WebhookView> {
    return WebhookView.of(await this.webhooks.get(tenantId, id));
  }

  @Delete(':id')
  async delete(@TenantId() tenantId: string, @Param('id') id: string) {
    await this.webhooks.delete(tenantId, id);
    return { id, object: 'webhook', deleted: true };
  }

  @Get(':id/deliveries')
  async deliveries(@TenantId() tenantId: string, @Param('id') id: string, @Query() q: ListQueryDto) {
    const { rows, attempts, has_more } = await this.webhooks.deliveries(tenantId, id, q);
    return toList(rows.map((r) => WebhookDeliveryView.of(r, attempts)), has_more);
  }

  @Get(':id/deliveries/:delivery_id')
  @ApiOkResponse({ type: WebhookDeliveryView })
  async delivery(@TenantId() tenantId: string, @Param('id') id: string, @Param('delivery_id') deliveryId: string): Promise<WebhookDeliveryView> {
    const { row, attempts } = await this.webhooks.delivery(tenantId, id, deliveryId);
    return WebhookDeliveryView.of(row, attempts);
  }

  @Post(':id/deliveries/:delivery_id/redeliver')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: WebhookDeliveryView, description: 'Due again at once; 409 delivery_in_progress while an attempt is in flight' })
  async redeliver(@TenantId() tenantId: string, @Param('id') id: string, @Param('delivery_id') deliveryId: string): Promise<WebhookDeliveryView> {
    const { row, attempts } = await this.webhooks.redeliver(tenantId, id, deliveryId);
    return WebhookDeliveryView.of(row, attempts);
  }
}
