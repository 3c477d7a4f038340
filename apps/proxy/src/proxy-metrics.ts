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
  readonly auditDropped: Counter;
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
    this.leaseWaits = new Counter({ name: 'keyvault_proxy_lease_waits_total', help: 'Paid calls that waited for a budget lease grant before being served or refused', registers });
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
    this.auditDropped = new Counter({ name: 'keyvault_proxy_audit_dropped_total', help: 'Audit rows dropped because the buffer was full while the database was down', registers });
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
