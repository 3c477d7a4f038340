import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { nanosToUsd } from '@keyvault/policy';
import { RequireScope, TenantId } from '../auth/auth.decorators';
import { UsageQueryDto } from './dto/usage-query.dto';
import { UsageService } from './usage.service';
import { UsageView } from './usage.view';

@ApiTags('usage')
@ApiBearerAuth()
@RequireScope('audit:read')
@Controller('usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @ApiOkResponse({ type: UsageView })
  async get(@TenantId() tenantId: string, @Query() q: UsageQueryDto): Promise<UsageView> {
    const group = q.group_by ?? 'vault_key';
    const { from, to } = this.usage.range(group, q.from, q.to);
    const { rows, refusals } = await this.usage.usage(tenantId, group, from, to);
    const total = rows.reduce((s, r) => s + BigInt(r.cost_nanos), 0n);
    return {
      object: 'usage',
      group_by: group,
      from: from.toISOString(),
      to: to.toISOString(),
      total_usd: nanosToUsd(total),
      calls: rows.reduce((s, r) => s + r.calls, 0),
      data: rows.map((r) => ({ key: r.key, label: r.label, spent_usd: nanosToUsd(r.cost_nanos), calls: r.calls, refused: r.refused })),
      refusals,
    };
  }
}
