import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '@keyvault/observability';

/** The proxy's own Prometheus series, in the app's registry (served at /metrics). */
@Injectable()
export class ProxyMetrics {
  /** Every database statement or transaction the proxy makes, by what it was for. */
  readonly dbQueries: Counter<'op'>;
  /** Proxied calls by vendor and outcome (`forwarded` or the refusal's error code). */
  readonly calls: Counter<'vendor' | 'outcome'>;
  readonly auditBuffered: Gauge;
  /** Calls refused before their vault key was known (no key, a forged one, the database down): counted, not written one row each. */
  readonly unauthenticatedRefusals: Counter<'code'>;
  /** Calls that cost more than the worst case reserved for them (booked at their real cost). */
  readonly costOverruns: Counter;
  /** Calls refused because their record could not be written before forwarding. */
  readonly recordFailures: Counter;
  /** Calls that had to wait for a lease grant (a database round trip) before being served or refused. */
  readonly leaseWaits: Counter;

  /** the label sets of `calls` already met (few: vendors × outcomes), so a call skips hashing its labels */
  private readonly callSeries = new Map<string, Counter.Internal>();

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.dbQueries = new Counter({ name: 'keyvault_proxy_db_queries_total', help: 'Database statements (a transaction counts once) by operation', labelNames: ['op'], registers });
    this.calls = new Counter({ name: 'keyvault_proxy_calls_total', help: 'Proxied calls by vendor and outcome', labelNames: ['vendor', 'outcome'], registers });
    this.auditBuffered = new Gauge({ name: 'keyvault_proxy_audit_buffered', help: 'Audit rows waiting to be written', registers });
    this.leaseWaits = new Counter({ name: 'keyvault_proxy_lease_waits_total', help: 'Paid calls that waited for a budget lease grant before being served or refused', registers });
    this.unauthenticatedRefusals = new Counter({ name: 'keyvault_proxy_unauthenticated_refusals_total', help: 'Calls refused before their vault key was known, by error code (no audit row each)', labelNames: ['code'], registers });
    this.costOverruns = new Counter({ name: 'keyvault_proxy_cost_overruns_total', help: 'Calls whose real cost passed the worst case reserved for them', registers });
    this.recordFailures = new Counter({ name: 'keyvault_proxy_call_record_failures_total', help: 'Calls refused with 503 because their record could not be written before forwarding', registers });
  }

  /** Counts one proxied call. */
  countCall(vendor: string, outcome: string): void {
    const key = `${vendor} ${outcome}`;
    let series = this.callSeries.get(key);
    if (!series) {
      series = this.calls.labels(vendor, outcome);
      this.callSeries.set(key, series);
    }
    series.inc();
  }
}
