import type { Api, ApiError } from '../api';
import { Empty, ErrorNotice, PageHeader } from '../components/ui';
import { formatUsd } from '../format';
import { useResource } from '../hooks';

interface Bucket {
  key: string | null;
  label: string | null;
  spent_usd: number;
  calls: number;
  refused: number;
}
interface Usage {
  group_by: string;
  total_usd: number;
  calls: number;
  data: Bucket[];
  refusals: { code: string; count: number }[];
}

/** At most this many bars in a "top" chart. */
const TOP = 10;

/**
 * Spend you can see: GET /usage drawn as bar charts (plain elements, no chart library, nothing
 * loaded from elsewhere). Each bar carries its figures as data attributes, so a test reads the
 * chart's data rather than its pixels.
 */
export function UsagePage({ api }: { api: Api }) {
  const hourly = useResource(() => api.get<Usage>('/usage', { group_by: 'hour' }), []);
  const daily = useResource(() => api.get<Usage>('/usage', { group_by: 'day' }), []);
  const byKey = useResource(() => api.get<Usage>('/usage', { group_by: 'vault_key' }), []);
  const byProfile = useResource(() => api.get<Usage>('/usage', { group_by: 'credential' }), []);
  return (
    <section>
      <PageHeader title="Usage" subtitle="Spend booked by the proxy (UTC), from the audit log: exactly what the keys were charged." />
      <div class="charts">
        <Chart id="hourly" title="Spend per hour, last 24 hours" usage={hourly.data} error={hourly.error} tick={(k) => k.slice(11, 13)} vertical />
        <Chart id="daily" title="Spend per day, last 30 days" usage={daily.data} error={daily.error} tick={(k) => k.slice(8, 10)} vertical />
        <Chart id="top-keys" title="Top vault keys by spend (30 days)" usage={byKey.data && top(byKey.data)} error={byKey.error} name={(b) => b.label ?? b.key ?? '—'} />
        <Chart id="profiles" title="Spend per credential profile (30 days)" usage={byProfile.data && top(byProfile.data)} error={byProfile.error} name={(b) => b.label ?? b.key ?? '—'} />
        <Refusals usage={byKey.data} />
      </div>
    </section>
  );
}

function top(u: Usage): Usage {
  return { ...u, data: u.data.filter((b) => b.spent_usd > 0).slice(0, TOP) };
}

function Chart(props: {
  id: string;
  title: string;
  usage: Usage | undefined;
  error: ApiError | null;
  vertical?: boolean;
  tick?: (key: string) => string;
  name?: (b: Bucket) => string;
}) {
  const u = props.usage;
  const max = u ? Math.max(0, ...u.data.map((b) => b.spent_usd)) : 0;
  return (
    <figure class="panel chart" data-testid={`chart-${props.id}`} data-total-usd={u?.total_usd} data-bars={u?.data.length}>
      <figcaption class="panel-title">
        {props.title} {u && <span class="muted">{formatUsd(u.total_usd)}</span>}
      </figcaption>
      <ErrorNotice error={props.error} />
      {u && u.data.length === 0 && <Empty title="No spend in this range." />}
      {u && u.data.length > 0 && (
        <div class={props.vertical ? 'bars bars-vertical' : 'bars bars-horizontal'}>
          {u.data.map((b) => {
            const share = max > 0 ? b.spent_usd / max : 0;
            const label = props.name ? props.name(b) : (b.key ?? '');
            return (
              <div class="bar-slot" key={b.key ?? 'none'} data-key={b.key ?? ''} data-usd={b.spent_usd} data-calls={b.calls} title={`${label}: ${formatUsd(b.spent_usd)}, ${b.calls} calls`}>
                {!props.vertical && <span class="bar-name">{label}</span>}
                <span class="bar" style={props.vertical ? { height: `${share * 100}%` } : { width: `${share * 100}%` }} />
                {props.vertical ? <span class="bar-tick">{props.tick?.(b.key ?? '')}</span> : <span class="bar-value">{formatUsd(b.spent_usd)}</span>}
              </div>
            );
          })}
        </div>
      )}
    </figure>
  );
}

function Refusals({ usage }: { usage: Usage | undefined }) {
  const max = usage ? Math.max(0, ...usage.refusals.map((r) => r.count)) : 0;
  return (
    <figure class="panel chart" data-testid="chart-refusals" data-bars={usage?.refusals.length}>
      <figcaption class="panel-title">Refusals by code (30 days)</figcaption>
      {usage && usage.refusals.length === 0 && <Empty title="No refusals in this range." />}
      {usage && usage.refusals.length > 0 && (
        <div class="bars bars-horizontal">
          {usage.refusals.map((r) => (
            <div class="bar-slot" key={r.code} data-key={r.code} data-count={r.count}>
              <span class="bar-name">
                <code>{r.code}</code>
              </span>
              <span class="bar bar-refusal" style={{ width: `${max > 0 ? (r.count / max) * 100 : 0}%` }} />
              <span class="bar-value">{r.count}</span>
            </div>
          ))}
        </div>
      )}
    </figure>
  );
}
