import { Public } from './public';
import { Controller, Get, Header, Injectable, NestInterceptor, ExecutionContext, CallHandler, Module, Global } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { finalize, Observable } from 'rxjs';
import { clusterMetricsText, inClusterWorker, joinClusterMetrics } from './cluster-metrics';

/** One Prometheus registry per process (tests boot several apps in one process). */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'keyvault_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'keyvault_errors_total',
    help: 'Error responses by code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'keyvault_' });
    joinClusterMetrics(this.registry);
  }
}

@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: MetricsRegistry) {}
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    // Express names the matched route in req.route (the proxy), Fastify in req.routeOptions (the api)
    const req = ctx.switchToHttp().getRequest<{ method: string; route?: { path?: string }; routeOptions?: { url?: string } }>();
    const res = ctx.switchToHttp().getResponse<{ statusCode: number }>();
    const end = this.metrics.httpDuration.startTimer();
    return next.handle().pipe(
      finalize(() => end({ method: req.method, route: req.route?.path ?? req.routeOptions?.url ?? 'unknown', status: String(res.statusCode) })),
    );
  }
}

@Public()
@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsRegistry) {}
  @Get('metrics')
  // with the charset Express would add to a string body, so both apps answer alike
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    // under API_WORKERS > 1 a scrape lands on one worker; it answers for all of them
    return inClusterWorker() ? clusterMetricsText() : this.metrics.registry.metrics();
  }
}

@Global()
@Module({ providers: [MetricsRegistry, HttpMetricsInterceptor], controllers: [MetricsController], exports: [MetricsRegistry, HttpMetricsInterceptor] })
export class MetricsModule {}
