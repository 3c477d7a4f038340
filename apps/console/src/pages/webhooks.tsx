import { useState } from 'preact/hooks';
import type { Api, List } from '../api';
import { ConfirmDialog, Empty, ErrorNotice, Flash, Id, PageHeader, StatusBadge } from '../components/ui';
import { dateTime, relativeTime } from '../format';
import { useAction, useResource } from '../hooks';
import { WEBHOOK_EVENTS, WEBHOOK_KINDS, type Webhook, type WebhookDelivery, type WebhookKind } from '../types';

const KIND_LABELS: Record<WebhookKind, string> = { signed: 'Signed JSON', slack: 'Slack', email: 'Email' };

/** Where a webhook's events go: its URL, or its recipients. */
const target = (w: Webhook) => (w.kind === 'email' ? (w.to ?? []).join(', ') : (w.url ?? ''));

const EVENT_HINTS: Record<(typeof WEBHOOK_EVENTS)[number], string> = {
  'vault_key.cap_threshold': 'spend passed the threshold',
  'vault_key.cap_reached': 'daily cap reached',
  'vault_key.revoked': 'a key was revoked',
  'credential.cap_threshold': "a profile's spend passed the threshold of its daily or monthly cap",
  'credential.cap_reached': "a profile's daily or monthly cap reached",
};

export function WebhooksPage({ api }: { api: Api }) {
  const hooks = useResource(() => api.get<List<Webhook>>('/webhooks', { limit: 100 }), []);
  const [created, setCreated] = useState<Webhook | null>(null);
  const [flash, setFlash] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const del = useAction(async (w: Webhook) => {
    await api.del(`/webhooks/${encodeURIComponent(w.id)}`);
    return true;
  });

  async function confirmDelete() {
    if (!deleting) return;
    if (!(await del.run(deleting))) return;
    setFlash(`Deleted the webhook to ${target(deleting)}.`);
    setDeleting(null);
    await hooks.reload();
  }

  const list = hooks.data?.data ?? [];
  return (
    <section>
      <PageHeader title="Webhooks" subtitle="Where Keyvault sends spend and revocation events: signed JSON, Slack or email." />
      <Flash message={flash} onClose={() => setFlash(null)} />
      <AddWebhook
        api={api}
        onCreated={async (w) => {
          setCreated(w);
          await hooks.reload();
        }}
      />
      {created?.secret && (
        <div class="notice notice-secret" role="status" data-testid="webhook-secret">
          <div>
            <strong>Signing secret for {created.url}</strong> — copy it now, it is not shown again.
          </div>
          <code class="secret">{created.secret}</code>
          <button type="button" class="btn btn-small" onClick={() => setCreated(null)}>
            I have stored it
          </button>
        </div>
      )}
      <ErrorNotice error={hooks.error} title="Could not load webhooks." />
      {!hooks.data && hooks.loading && <p class="muted loading">Loading webhooks…</p>}
      {hooks.data && list.length === 0 && (
        <Empty title="No webhooks yet.">Add one above to hear when a key nears or reaches its cap, or is revoked.</Empty>
      )}
      {list.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-testid="webhooks">
            <thead>
              <tr>
                <th>Destination</th>
                <th>Events</th>
                <th class="num">Threshold</th>
                <th>Created</th>
                <th class="col-actions">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((w) => [
                <tr key={w.id} data-webhook-id={w.id} data-kind={w.kind}>
                  <td>
                    <span class="chip">{KIND_LABELS[w.kind]}</span> <span class="url">{target(w)}</span>
                    <div class="sub">
                      <Id value={w.id} />
                    </div>
                  </td>
                  <td>
                    <div class="chips">
                      {w.events.map((e) => (
                        <span class="chip" key={e}>
                          {e}
                        </span>
                      ))}
                    </div>
                  </td>
                  <td class="num">{w.events.includes('vault_key.cap_threshold') ? `${w.threshold_pct}%` : <span class="muted">—</span>}</td>
                  <td class="nowrap">{dateTime(w.created_at)}</td>
                  <td class="col-actions">
                    <button
                      type="button"
                      class="btn btn-small"
                      aria-expanded={open === w.id}
                      onClick={() => setOpen(open === w.id ? null : w.id)}
                    >
                      {open === w.id ? 'Hide deliveries' : 'Deliveries'}
                    </button>
                    <button
                      type="button"
                      class="btn btn-small btn-danger-outline"
                      onClick={() => {
                        del.reset();
                        setDeleting(w);
                      }}
                    >
                      Delete
                    </button>
                  </td>
                </tr>,
                open === w.id && (
                  <tr key={`${w.id}-deliveries`} class="detail-row">
                    <td colSpan={5}>
                      <Deliveries api={api} webhook={w} />
                    </td>
                  </tr>
                ),
              ])}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this webhook?"
        confirmLabel="Delete webhook"
        danger
        busy={del.busy}
        error={del.error}
        onConfirm={() => void confirmDelete()}
        onCancel={() => setDeleting(null)}
      >
        {deleting && (
          <p>
            Keyvault stops sending events to <code>{target(deleting)}</code>.
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}

function AddWebhook(props: { api: Api; onCreated: (w: Webhook) => Promise<void> }) {
  const [kind, setKind] = useState<WebhookKind>('signed');
  const [url, setUrl] = useState('');
  const [to, setTo] = useState('');
  const [events, setEvents] = useState<string[]>([...WEBHOOK_EVENTS]);
  const [threshold, setThreshold] = useState('80');
  const create = useAction((body: unknown) => props.api.post<Webhook>('/webhooks', body));

  async function submit(e: Event) {
    e.preventDefault();
    // Sent as typed: the api validates and its error says what is wrong.
    const body: Record<string, unknown> = { kind, events };
    if (kind === 'email') body.to = to.split(',').map((a) => a.trim()).filter(Boolean);
    else body.url = url.trim();
    if (threshold.trim() !== '') body.threshold_pct = Number(threshold);
    const w = await create.run(body);
    if (!w) return;
    setUrl('');
    setTo('');
    await props.onCreated(w);
  }

  return (
    <form class="panel" onSubmit={submit} data-testid="add-webhook">
      <h2 class="panel-title">Add a webhook</h2>
      <div class="panel-row">
        <label class="field field-kind">
          <span class="field-label">Kind</span>
          <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as WebhookKind)}>
            {WEBHOOK_KINDS.map((k) => (
              <option key={k} value={k}>
                {KIND_LABELS[k]}
              </option>
            ))}
          </select>
        </label>
        {kind === 'email' ? (
          <label class="field grow">
            <span class="field-label">To</span>
            <input type="text" inputMode="email" name="to" value={to} placeholder="ops@example.com, finance@example.com" onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
          </label>
        ) : (
          <label class="field grow">
            <span class="field-label">URL</span>
            <input
              type="text"
              inputMode="url"
              name="url"
              value={url}
              placeholder={kind === 'slack' ? 'https://hooks.slack.com/services/T000/B000/XXXX' : 'https://ops.example.com/keyvault'}
              onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
            />
          </label>
        )}
        <label class="field field-narrow">
          <span class="field-label">Threshold %</span>
          <input type="number" name="threshold_pct" min={1} max={100} value={threshold} onInput={(e) => setThreshold((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      <fieldset class="checks">
        <legend class="field-label">Events</legend>
        {WEBHOOK_EVENTS.map((ev) => (
          <label key={ev} class="check">
            <input
              type="checkbox"
              name="events"
              value={ev}
              checked={events.includes(ev)}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                setEvents(on ? [...events, ev] : events.filter((x) => x !== ev));
              }}
            />
            <code>{ev}</code> <span class="muted">{EVENT_HINTS[ev]}</span>
          </label>
        ))}
      </fieldset>
      <ErrorNotice error={create.error} />
      <div>
        <button type="submit" class="btn btn-primary" disabled={create.busy}>
          {create.busy ? 'Adding…' : 'Add webhook'}
        </button>
      </div>
    </form>
  );
}

function Deliveries({ api, webhook }: { api: Api; webhook: Webhook }) {
  const deliveries = useResource(
    () => api.get<List<WebhookDelivery>>(`/webhooks/${encodeURIComponent(webhook.id)}/deliveries`, { limit: 20 }),
    [webhook.id],
  );
  const [shown, setShown] = useState<string | null>(null);
  const redeliver = useAction(async (d: WebhookDelivery) => {
    await api.post(`/webhooks/${encodeURIComponent(webhook.id)}/deliveries/${encodeURIComponent(d.id)}/redeliver`);
    return true;
  });
  const list = deliveries.data?.data ?? [];
  const code = (status: number) => (webhook.kind === 'email' ? `SMTP ${status}` : `HTTP ${status}`);
  return (
    <div class="deliveries" data-testid="deliveries">
      <div class="deliveries-head">
        <strong>Recent deliveries</strong>
        <button type="button" class="btn btn-small" onClick={() => void deliveries.reload()} disabled={deliveries.loading}>
          Refresh
        </button>
      </div>
      <ErrorNotice error={deliveries.error} />
      <ErrorNotice error={redeliver.error} />
      {deliveries.data && list.length === 0 && <Empty title="No deliveries yet.">Events appear here once something triggers them.</Empty>}
      {list.length > 0 && (
        <table class="table table-dense">
          <thead>
            <tr>
              <th>Created</th>
              <th>Event</th>
              <th>Status</th>
              <th class="num">Attempts</th>
              <th>Last response</th>
              <th class="col-actions">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((d) => [
              <tr key={d.id} data-delivery-id={d.id} data-status={d.status} data-attempt-count={d.attempt_count}>
                <td class="nowrap">{dateTime(d.created_at)}</td>
                <td>
                  <code>{d.event_type ?? '—'}</code>
                  <div class="sub">
                    <Id value={d.event_id} />
                  </div>
                </td>
                <td>
                  <StatusBadge status={d.status} />
                  {d.in_flight && <div class="sub muted">sending…</div>}
                  {d.next_attempt_at && !d.in_flight && <div class="sub muted">next try {relativeTime(d.next_attempt_at)}</div>}
                </td>
                <td class="num">{d.attempt_count}</td>
                <td>
                  {d.last_status_code != null && <code>{code(d.last_status_code)}</code>}
                  {d.last_error && <span class="muted"> {d.last_error}</span>}
                  {d.last_status_code == null && !d.last_error && <span class="muted">—</span>}
                  {d.last_attempt_at && <div class="sub muted">{dateTime(d.last_attempt_at)}</div>}
                </td>
                <td class="col-actions">
                  <button type="button" class="btn btn-small" aria-expanded={shown === d.id} onClick={() => setShown(shown === d.id ? null : d.id)}>
                    {shown === d.id ? 'Hide attempts' : 'Attempts'}
                  </button>
                  <button
                    type="button"
                    class="btn btn-small"
                    disabled={d.in_flight || redeliver.busy}
                    onClick={async () => {
                      if (await redeliver.run(d)) await deliveries.reload();
                    }}
                  >
                    Redeliver
                  </button>
                </td>
              </tr>,
              shown === d.id && (
                <tr key={`${d.id}-attempts`} class="detail-row">
                  <td colSpan={6}>
                    {d.attempts.length === 0 ? (
                      <span class="muted">No attempt has finished yet.</span>
                    ) : (
                      <ol class="attempts" data-testid="attempts">
                        {d.attempts.map((a, i) => (
                          <li key={i} data-status={a.status ?? ''}>
                            <span class="nowrap">{dateTime(a.at)}</span> {a.status != null ? <code>{code(a.status)}</code> : <span class="muted">no answer</span>}{' '}
                            <span class="muted">{a.duration_ms} ms</span>
                            {a.error && <span> — {a.error}</span>}
                            {a.response_excerpt && (
                              <pre class="excerpt" data-testid="response-excerpt">
                                {a.response_excerpt}
                              </pre>
                            )}
                          </li>
                        ))}
                      </ol>
                    )}
                  </td>
                </tr>
              ),
            ])}
          </tbody>
        </table>
      )}
    </div>
  );
}
