import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Api, List } from '../api';
import { Badge, Empty, ErrorNotice, Id, PageHeader } from '../components/ui';
import { dateTime, duration, formatUsd, statusTone, timeOnly } from '../format';
import { useAction, usePoll, useResource } from '../hooks';
import { href, navigate, onLinkClick } from '../router';
import type { AuditRow, CredentialProfile } from '../types';
import { AuditDetail } from './audit-detail';

const PAGE_SIZE = 50;
/** Often enough to watch a chat happen, rare enough to be no load on the api. */
export const AUDIT_POLL_MS = 3000;

const FILTERS = [
  { name: 'run_id', label: 'Run id', placeholder: 'X-Run-Id of a workflow run' },
  { name: 'conversation_id', label: 'Conversation id', placeholder: 'X-Conversation-Id' },
  { name: 'vault_key', label: 'Vault key', placeholder: 'vk_…' },
] as const;
type FilterName = (typeof FILTERS)[number]['name'] | 'status';
const STATUS_CLASSES = [
  { value: '', label: 'All' },
  { value: '2xx', label: '2xx served' },
  { value: '4xx', label: '4xx refused' },
  { value: '5xx', label: '5xx failed' },
];
const FILTER_NAMES: FilterName[] = [...FILTERS.map((f) => f.name), 'status'];

export function AuditPage({ api, query }: { api: Api; query: URLSearchParams }) {
  const filters = Object.fromEntries(FILTER_NAMES.map((n) => [n, query.get(n) ?? ''])) as Record<FilterName, string>;
  const filterKey = JSON.stringify(filters);
  const [inputs, setInputs] = useState(filters);
  useEffect(() => setInputs(filters), [filterKey]);

  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);
  const first = useResource(async () => {
    const list = await api.get<List<AuditRow>>('/audit', { ...filters, limit: PAGE_SIZE });
    setUpdatedAt(new Date());
    return list;
  }, [filterKey]);

  // Older pages, fetched on demand. Live refresh only re-reads the newest page, so it pauses
  // while older pages are shown (they would otherwise leave a gap as new rows push in).
  const [older, setOlder] = useState<AuditRow[][]>([]);
  const [olderHasMore, setOlderHasMore] = useState(true);
  useEffect(() => setOlder([]), [filterKey]);
  const rows = [...(first.data?.data ?? []), ...older.flat()];
  const hasMore = older.length ? olderHasMore : (first.data?.has_more ?? false);
  const loadOlder = useAction(async () => {
    const list = await api.get<List<AuditRow>>('/audit', { ...filters, limit: PAGE_SIZE, starting_after: rows[rows.length - 1]?.id });
    setOlder((o) => [...o, list.data]);
    setOlderHasMore(list.has_more);
  });

  const [shown, setShown] = useState<string | null>(null);
  const [live, setLive] = useState(true);
  const polling = live && older.length === 0;
  usePoll(first.reload, AUDIT_POLL_MS, polling);

  // Provider keys by id, to name the key that served as its last four characters.
  const profiles = useResource(() => api.get<List<CredentialProfile>>('/credentials', { limit: 100 }), []);
  const providerKeys = useMemo(() => {
    const m = new Map<string, { last4: string; profile: string }>();
    for (const p of profiles.data?.data ?? []) for (const k of p.keys) m.set(k.id, { last4: k.last4, profile: p.name });
    return m;
  }, [profiles.data]);

  const filtered = FILTER_NAMES.some((n) => filters[n]);

  return (
    <section>
      <PageHeader title="Audit" subtitle="Every proxied call, refused ones included, newest first.">
        <span class={`live ${polling ? 'live-on' : 'live-off'}`} data-testid="live-status">
          <span class="live-dot" aria-hidden="true" />
          {polling ? 'Live' : 'Paused'}
          {updatedAt && <span class="muted"> · updated {timeOnly(updatedAt.toISOString())}</span>}
        </span>
        <button type="button" class="btn" onClick={() => setLive(!live)} disabled={older.length > 0}>
          {live ? 'Pause' : 'Resume'}
        </button>
      </PageHeader>

      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const next = Object.fromEntries(FILTER_NAMES.map((n) => [n, inputs[n].trim()]));
          navigate(href('audit', next), true);
        }}
      >
        {FILTERS.map((f) => (
          <label class="field field-inline" key={f.name}>
            <span class="field-label">{f.label}</span>
            <input
              type="search"
              name={f.name}
              value={inputs[f.name]}
              placeholder={f.placeholder}
              onInput={(e) => setInputs({ ...inputs, [f.name]: (e.target as HTMLInputElement).value })}
            />
          </label>
        ))}
        <label class="field field-inline">
          <span class="field-label">Status</span>
          <select
            name="status"
            value={inputs.status}
            onChange={(e) => navigate(href('audit', { ...filters, status: (e.target as HTMLSelectElement).value }), true)}
          >
            {STATUS_CLASSES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="btn">
          Search
        </button>
        {filtered && (
          <button type="button" class="btn-link" onClick={() => navigate(href('audit'), true)}>
            Clear
          </button>
        )}
      </form>

      <ErrorNotice error={first.error} title="Could not load the audit log." />

      {first.data && rows.length === 0 ? (
        filtered ? (
          <Empty title="No calls match this search.">Run and conversation ids match exactly, as sent in X-Run-Id and X-Conversation-Id.</Empty>
        ) : (
          <Empty title="No proxied calls yet.">Calls through the proxy appear here within seconds.</Empty>
        )
      ) : (
        rows.length > 0 && (
          <div class="table-wrap">
            <table class="table table-dense" data-testid="audit">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Status</th>
                  <th>Call</th>
                  <th class="num">Cost</th>
                  <th class="num">Duration</th>
                  <th>Provider key</th>
                  <th>Vault key</th>
                  <th>Run / conversation</th>
                  <th class="col-actions">
                    <span class="sr-only">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const pk = r.provider_key_id ? providerKeys.get(r.provider_key_id) : undefined;
                  return [
                    <tr key={r.id} data-audit-id={r.id}>
                      <td title={dateTime(r.created_at)} class="nowrap">
                        {timeOnly(r.created_at)}
                        <div class="sub muted">{dateTime(r.created_at).slice(0, 10)}</div>
                      </td>
                      <td>
                        <Badge tone={statusTone(r.status)}>{r.status}</Badge>
                        {r.error_code && <div class="sub"><code class="error-code">{r.error_code}</code></div>}
                      </td>
                      <td class="call">
                        <span class="method">{r.method}</span> <span class="path" title={r.path}>{r.path}</span>
                        <div class="sub muted">{r.vendor}</div>
                      </td>
                      <td class="num">{formatUsd(r.cost_usd)}</td>
                      <td class="num">{duration(r.duration_ms)}</td>
                      <td>
                        {pk ? (
                          <span title={r.provider_key_id!}>
                            <code>••••{pk.last4}</code>
                            <div class="sub muted">{pk.profile}</div>
                          </span>
                        ) : (
                          <Id value={r.provider_key_id} />
                        )}
                      </td>
                      <td>
                        {r.vault_key_id ? (
                          <a href={href('audit', { vault_key: r.vault_key_id })} onClick={onLinkClick} title="Only this key's calls">
                            <Id value={r.vault_key_id} />
                          </a>
                        ) : (
                          <span class="muted">—</span>
                        )}
                      </td>
                      <td>
                        {r.run_id ? (
                          <a href={href('audit', { run_id: r.run_id })} onClick={onLinkClick}>
                            <Id value={r.run_id} />
                          </a>
                        ) : (
                          <span class="muted">—</span>
                        )}
                        {r.conversation_id && (
                          <div class="sub">
                            <a href={href('audit', { conversation_id: r.conversation_id })} onClick={onLinkClick}>
                              <Id value={r.conversation_id} />
                            </a>
                          </div>
                        )}
                      </td>
                      <td class="col-actions">
                        <button type="button" class="btn btn-small" aria-expanded={shown === r.id} onClick={() => setShown(shown === r.id ? null : r.id)}>
                          {shown === r.id ? 'Hide' : 'Details'}
                        </button>
                      </td>
                    </tr>,
                    shown === r.id && (
                      <tr key={`${r.id}-detail`} class="detail-row">
                        <td colSpan={9}>
                          <AuditDetail api={api} id={r.id} />
                        </td>
                      </tr>
                    ),
                  ];
                })}
              </tbody>
            </table>
          </div>
        )
      )}
      {!first.data && first.loading && <p class="muted loading">Loading the audit log…</p>}
      {hasMore && (
        <div class="more">
          <button type="button" class="btn" onClick={() => void loadOlder.run()} disabled={loadOlder.busy}>
            {loadOlder.busy ? 'Loading…' : 'Load older calls'}
          </button>
          {older.length > 0 && <span class="muted">Live refresh pauses while older calls are shown.</span>}
          <ErrorNotice error={loadOlder.error} />
        </div>
      )}
    </section>
  );
}
