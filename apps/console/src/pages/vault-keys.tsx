import { useEffect, useState } from 'preact/hooks';
import type { Api, List } from '../api';
import { ConfirmDialog, Empty, ErrorNotice, Flash, Id, PageHeader, SpendBar, StatusBadge } from '../components/ui';
import { dateTime, formatUsd, relativeTime } from '../format';
import { useAction, useResource } from '../hooks';
import { href, navigate, onLinkClick } from '../router';
import type { VaultKey } from '../types';

const PAGE_SIZE = 50;
const STATUSES = ['active', 'revoked', 'expired'] as const;

type Pending = { kind: 'one'; key: VaultKey } | { kind: 'label'; label: string } | null;

/** A key's guardrails (issue 19) as chips under its spend; nothing when it has none. */
function Guardrails({ k }: { k: VaultKey }) {
  const chips: string[] = [];
  if (k.max_usd_per_call != null) chips.push(`≤ $${k.max_usd_per_call} per call`);
  if (k.allowed_models) chips.push(`models: ${k.allowed_models.join(', ')}`);
  if (k.max_calls_per_minute != null) chips.push(`≤ ${k.max_calls_per_minute} calls/min`);
  if (k.max_tokens_per_minute != null) chips.push(`≤ ${k.max_tokens_per_minute} tokens/min`);
  if (k.allowed_inputs) chips.push(k.allowed_inputs.length === 0 ? 'no images, files or server tools' : `inputs: ${k.allowed_inputs.join(', ')}`);
  if (k.duplicate_window && k.duplicate_window !== '0') chips.push(`duplicates refused within ${k.duplicate_window}`);
  if (chips.length === 0) return null;
  return (
    <div class="chips" data-testid="guardrails">
      {chips.map((c) => (
        <span class="chip" key={c}>
          {c}
        </span>
      ))}
    </div>
  );
}

export function VaultKeysPage({ api, query }: { api: Api; query: URLSearchParams }) {
  const status = query.get('status') ?? '';
  const label = query.get('label') ?? '';
  const [labelInput, setLabelInput] = useState(label);
  useEffect(() => setLabelInput(label), [label]);

  const first = useResource(
    () => api.get<List<VaultKey>>('/vault/keys', { status, label, limit: PAGE_SIZE }),
    [status, label],
  );
  // Pages after the first, appended by "Load more"; dropped when the filters change.
  const [more, setMore] = useState<List<VaultKey>[]>([]);
  useEffect(() => setMore([]), [status, label, first.data]);
  const keys = [...(first.data?.data ?? []), ...more.flatMap((p) => p.data)];
  const hasMore = more.length ? more[more.length - 1].has_more : (first.data?.has_more ?? false);
  const loadMore = useAction(async () => {
    const list = await api.get<List<VaultKey>>('/vault/keys', { status, label, limit: PAGE_SIZE, starting_after: keys[keys.length - 1]?.id });
    setMore((m) => [...m, list]);
  });

  const [pending, setPending] = useState<Pending>(null);
  const [flash, setFlash] = useState<string | null>(null);
  const revoke = useAction(async (p: NonNullable<Pending>) => {
    if (p.kind === 'one') {
      await api.del(`/vault/keys/${encodeURIComponent(p.key.id)}`);
      return `Revoked ${p.key.label ? `“${p.key.label}”` : p.key.id}. Its next proxied call is refused.`;
    }
    const res = await api.post<{ revoked: number }>('/vault/keys/revoke', { label: p.label });
    return `Revoked ${res.revoked} vault key${res.revoked === 1 ? '' : 's'} labelled “${p.label}”.`;
  });

  async function confirmRevoke() {
    if (!pending) return;
    const done = await revoke.run(pending);
    if (done === undefined) return;
    setPending(null);
    setFlash(done);
    await first.reload();
  }

  function setFilters(next: { status?: string; label?: string }) {
    navigate(href('keys', { status, label, ...next }), true);
  }

  const activeWithLabel = label ? keys.filter((k) => k.status === 'active').length : 0;

  return (
    <section>
      <PageHeader title="Vault keys" subtitle="Short-lived keys your backend issued, with today's spend (UTC) against each key's daily cap.">
        <button type="button" class="btn" onClick={() => void first.reload()} disabled={first.loading}>
          {first.loading ? 'Refreshing…' : 'Refresh'}
        </button>
      </PageHeader>

      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ label: labelInput.trim() });
        }}
      >
        <label class="field field-inline">
          <span class="field-label">Status</span>
          <select name="status" value={status} onChange={(e) => setFilters({ status: (e.target as HTMLSelectElement).value })}>
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label class="field field-inline">
          <span class="field-label">Label</span>
          <input
            type="search"
            name="label"
            value={labelInput}
            onInput={(e) => setLabelInput((e.target as HTMLInputElement).value)}
            placeholder="exact label"
          />
        </label>
        <button type="submit" class="btn">
          Filter
        </button>
        {(status || label) && (
          <button type="button" class="btn-link" onClick={() => navigate(href('keys'), true)}>
            Clear filters
          </button>
        )}
        <span class="grow" />
        {label && (
          <button
            type="button"
            class="btn btn-danger-outline"
            onClick={() => {
              revoke.reset();
              setPending({ kind: 'label', label });
            }}
          >
            Revoke every “{label}” key…
          </button>
        )}
      </form>

      <Flash message={flash} onClose={() => setFlash(null)} />
      <ErrorNotice error={first.error} title="Could not load vault keys." />

      {first.data && keys.length === 0 ? (
        status || label ? (
          <Empty title="No vault keys match these filters.">Labels match exactly. Clear the filters to see every key.</Empty>
        ) : (
          <Empty title="No vault keys yet.">
            Your backend issues one per chat with <code>POST /vault/keys</code>; they show up here with their spend.
          </Empty>
        )
      ) : (
        keys.length > 0 && (
          <div class="table-wrap">
            <table class="table" data-testid="vault-keys">
              <thead>
                <tr>
                  <th>Label</th>
                  <th>Credential</th>
                  <th>Status</th>
                  <th>Expires</th>
                  <th class="col-spend">Spend today</th>
                  <th class="col-actions">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {keys.map((k) => (
                  <tr key={k.id} data-key-id={k.id} class={k.status === 'active' ? undefined : 'row-inactive'}>
                    <td>
                      {k.label ? (
                        <a href={href('keys', { label: k.label })} onClick={onLinkClick} class="strong" title="Show every key with this label">
                          {k.label}
                        </a>
                      ) : (
                        <span class="muted">no label</span>
                      )}
                      <div class="sub">
                        <Id value={k.id} />
                      </div>
                      {Object.keys(k.metadata ?? {}).length > 0 && (
                        <div class="chips">
                          {Object.entries(k.metadata).map(([mk, mv]) => (
                            <span class="chip" key={mk}>
                              {mk}={mv}
                            </span>
                          ))}
                        </div>
                      )}
                    </td>
                    <td>
                      <span title={k.credential}>{k.credential_name ?? k.credential}</span>
                      <div class="sub muted">{k.vendor}</div>
                    </td>
                    <td>
                      <StatusBadge status={k.status} />
                      {k.revoked_at && <div class="sub muted">{relativeTime(k.revoked_at)}</div>}
                    </td>
                    <td title={dateTime(k.expires_at)}>
                      <span>{relativeTime(k.expires_at)}</span>
                      <div class="sub muted">{dateTime(k.expires_at)}</div>
                    </td>
                    <td class="col-spend">
                      {k.daily_usd_cap !== null ? (
                        <SpendBar spent={k.spent_today_usd} reserved={k.reserved_usd} cap={k.daily_usd_cap} />
                      ) : (
                        <div class="sub muted">{formatUsd(k.spent_today_usd)} today, no daily cap</div>
                      )}
                      {k.total_usd_cap != null && (
                        <SpendBar spent={k.total_spent_usd ?? 0} reserved={k.total_reserved_usd ?? 0} cap={k.total_usd_cap} period="over its life" capName="total cap" />
                      )}
                      <Guardrails k={k} />
                    </td>
                    <td class="col-actions">
                      <a class="btn btn-small" href={href('audit', { vault_key: k.id })} onClick={onLinkClick}>
                        Audit
                      </a>
                      {k.status === 'active' && (
                        <button
                          type="button"
                          class="btn btn-small btn-danger-outline"
                          onClick={() => {
                            revoke.reset();
                            setPending({ kind: 'one', key: k });
                          }}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
      {!first.data && first.loading && <p class="muted loading">Loading vault keys…</p>}
      {hasMore && (
        <div class="more">
          <button type="button" class="btn" onClick={() => void loadMore.run()} disabled={loadMore.busy}>
            {loadMore.busy ? 'Loading…' : 'Load more'}
          </button>
          <ErrorNotice error={loadMore.error} />
        </div>
      )}

      <ConfirmDialog
        open={pending !== null}
        title={pending?.kind === 'label' ? 'Revoke every key with this label?' : 'Revoke this vault key?'}
        confirmLabel={pending?.kind === 'label' ? 'Revoke all' : 'Revoke key'}
        danger
        busy={revoke.busy}
        error={revoke.error}
        onConfirm={() => void confirmRevoke()}
        onCancel={() => setPending(null)}
      >
        {pending?.kind === 'one' && (
          <p>
            <strong>{pending.key.label ?? 'Unlabelled key'}</strong> (<code>{pending.key.id}</code>) stops working at once: the
            proxy refuses its next call with <code>vault_key_revoked</code>. This cannot be undone.
          </p>
        )}
        {pending?.kind === 'label' && (
          <p>
            Every active vault key labelled <strong>“{pending.label}”</strong>
            {activeWithLabel > 0 && ` (${activeWithLabel}${hasMore ? '+' : ''} listed here)`} stops working at once. This cannot be
            undone.
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}
