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
  /** Captures (vault keys with capture) not stored: `overload` when too many waited, `write_failed` when their insert failed. */
  readonly capturesDropped: Counter<'reason'>;
  /** Calls refused before their vault key was known (no key, a forged one, the database down): counted, not written one row each. */
  readonly unauthenticatedRefusals: Counter<'code'>;
  /** Calls that cost more than the worst case reserved for them (booked at their real cost). */
  readonly costOverruns: Counter;
  /** Calls refused because their record could not be written before forwarding. */
  readonly recordFailures: Counter;
  /** Calls that had to wait for a lease grant (a database round trip) before being served or refused. */
  readonly leaseWaits: Counter;
  /** Calls refused 503 upstream_busy: every connection KEYVAULT_UPSTREAM_MAX_CONNECTIONS allows was in use. */
  readonly upstreamBusy: Counter;
  readonly upstreamConnections: Gauge;
  readonly upstreamQueued: Gauge;

  /** the label sets of `calls` already met (few: vendors × outcomes), so a call skips hashing its labels */
  private readonly callSeries = new Map<string, Counter.Internal>();
  private upstreamStats: () => { connections: number; queued: number } = () => ({ connections: 0, queued: 0 });

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.dbQueries = new Counter({ name: 'keyvault_proxy_db_queries_total', help: 'Database statements (a transaction counts once) by operation', labelNames: ['op'], registers });
    this.calls = new Counter({ name: 'keyvault_proxy_calls_total', help: 'Proxied calls by vendor and outcome', labelNames: ['vendor', 'outcome'], registers });
    this.auditBuffered = new Gauge({ name: 'keyvault_proxy_audit_buffered', help: 'Audit rows waiting to be written', registers });
    this.capturesDropped = new Counter({ name: 'keyvault_proxy_captures_dropped_total', help: 'Captured calls not stored, by reason (overload: too many waiting; write_failed)', labelNames: ['reason'], registers });
    this.leaseWaits = new Counter({ name: 'keyvault_proxy_lease_waits_total', help: 'Paid calls that waited for a budget lease grant before being served or refused', registers });
    this.unauthenticatedRefusals = new Counter({ name: 'keyvault_proxy_unauthenticated_refusals_total', help: 'Calls refused before their vault key was known, by error code (no audit row each)', labelNames: ['code'], registers });
    this.costOverruns = new Counter({ name: 'keyvault_proxy_cost_overruns_total', help: 'Calls whose real cost passed the worst case reserved for them', registers });
    this.recordFailures = new Counter({ name: 'keyvault_proxy_call_record_failures_total', help: 'Calls refused with 503 because their record could not be written before forwarding', registers });
    this.upstreamBusy = new Counter({ name: 'keyvault_proxy_upstream_busy_total', help: 'Calls refused 503 upstream_busy because every allowed upstream connection was in use', registers });
    const stats = () => this.upstreamStats();
    this.upstreamConnections = new Gauge({
      name: 'keyvault_proxy_upstream_connections',
      help: 'Upstream connections open (all origins)',
      registers,
      collect() {
        this.set(stats().connections);
      },
    });
    this.upstreamQueued = new Gauge({
      name: 'keyvault_proxy_upstream_queued',
      help: 'Calls waiting for an upstream connection (0 unless KEYVAULT_UPSTREAM_MAX_CONNECTIONS and a queue timeout are set)',
      registers,
      collect() {
        this.set(stats().queued);
      },
    });
  }

  /** Where the upstream gauges are read from at each scrape. */
  watchUpstream(stats: () => { connections: number; queued: number }): void {
    this.upstreamStats = stats;
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
