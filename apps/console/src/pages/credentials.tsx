import { useState } from 'preact/hooks';
import type { Api, List } from '../api';
import { Badge, ConfirmDialog, Empty, ErrorNotice, Flash, Id, PageHeader, SpendBar, StatusBadge } from '../components/ui';
import { dateTime, formatUsd } from '../format';
import { useAction, useResource } from '../hooks';
import type { CredentialProfile, ProviderKey } from '../types';

export function CredentialsPage({ api }: { api: Api }) {
  const profiles = useResource(() => api.get<List<CredentialProfile>>('/credentials', { limit: 100 }), []);
  const [flash, setFlash] = useState<string | null>(null);
  const [retiring, setRetiring] = useState<{ profile: CredentialProfile; key: ProviderKey } | null>(null);
  const retire = useAction(async (p: CredentialProfile, k: ProviderKey) => {
    await api.del(`/credentials/${encodeURIComponent(p.id)}/keys/${encodeURIComponent(k.id)}`);
    return true;
  });

  async function confirmRetire() {
    if (!retiring) return;
    const ok = await retire.run(retiring.profile, retiring.key);
    if (!ok) return;
    setFlash(`Retired key ••••${retiring.key.last4} of ${retiring.profile.name}.`);
    setRetiring(null);
    await profiles.reload();
  }

  const list = profiles.data?.data ?? [];
  return (
    <section>
      <PageHeader title="Credential profiles" subtitle="Your real provider keys, grouped per client and vendor. Only their last four characters are ever shown." />
      <Flash message={flash} onClose={() => setFlash(null)} />
      <ErrorNotice error={profiles.error} title="Could not load credential profiles." />
      {!profiles.data && profiles.loading && <p class="muted loading">Loading credential profiles…</p>}
      {profiles.data && list.length === 0 && (
        <Empty title="No credential profiles yet.">
          Create one with <code>POST /credentials</code> (a name, a vendor and its keys); vault keys then draw on it.
        </Empty>
      )}
      <div class="cards">
        {list.map((p) => (
          <ProfileCard
            key={p.id}
            profile={p}
            api={api}
            onChanged={async (message) => {
              setFlash(message);
              await profiles.reload();
            }}
            onRetire={(k) => {
              retire.reset();
              setRetiring({ profile: p, key: k });
            }}
          />
        ))}
      </div>
      <ConfirmDialog
        open={retiring !== null}
        title="Retire this provider key?"
        confirmLabel="Retire key"
        danger
        busy={retire.busy}
        error={retire.error}
        onConfirm={() => void confirmRetire()}
        onCancel={() => setRetiring(null)}
      >
        {retiring && (
          <p>
            Key <code>••••{retiring.key.last4}</code> of <strong>{retiring.profile.name}</strong> stops serving calls. Vault keys on
            this profile keep working through its other keys.
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}

function ProfileCard(props: {
  profile: CredentialProfile;
  api: Api;
  onChanged: (message: string) => Promise<void>;
  onRetire: (k: ProviderKey) => void;
}) {
  const p = props.profile;
  const [newKey, setNewKey] = useState('');
  const add = useAction(async (key: string) => {
    const updated = await props.api.post<CredentialProfile>(`/credentials/${encodeURIComponent(p.id)}/keys`, { key });
    return updated;
  });

  async function submit(e: Event) {
    e.preventDefault();
    const key = newKey.trim();
    if (!key) return;
    const res = await add.run(key);
    if (res === undefined) return;
    setNewKey('');
    await props.onChanged(`Added key ••••${key.slice(-4)} to ${p.name}.`);
  }

  return (
    <article class="card" data-profile={p.name}>
      <header class="card-header">
        <div>
          <h2 class="card-title">{p.name}</h2>
          <div class="sub">
            <Id value={p.id} />
          </div>
        </div>
        <div class="card-tags">
          <Badge tone="info">{p.vendor}</Badge>
          <Badge tone="muted">{p.strategy === 'failover' ? 'failover' : 'round robin'}</Badge>
          {p.default && <Badge tone="ok">default for {p.vendor}</Badge>}
        </div>
      </header>
      {p.base_url && (
        <p class="sub">
          Base URL <code>{p.base_url}</code>
        </p>
      )}
      {p.keys.length === 0 ? (
        <Empty title="No provider keys." />
      ) : (
        <table class="table table-dense">
          <thead>
            <tr>
              <th>Key</th>
              <th>Status</th>
              <th>Added</th>
              <th class="col-actions">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {p.keys.map((k) => (
              <tr key={k.id} data-key-id={k.id}>
                <td>
                  <code class="last4">••••{k.last4}</code> <span class="sub muted">{k.id}</span>
                  {k.group ? <Badge tone="info">group {k.group}</Badge> : null}
                </td>
                <td>
                  <StatusBadge status={k.status} />
                </td>
                <td class="nowrap">
                  {dateTime(k.created_at)}
                  {k.retired_at && <div class="sub muted">retired {dateTime(k.retired_at)}</div>}
                </td>
                <td class="col-actions">
                  {k.status === 'active' && (
                    <button type="button" class="btn btn-small btn-danger-outline" onClick={() => props.onRetire(k)}>
                      Retire
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Budgets profile={p} api={props.api} onChanged={props.onChanged} />
      <form class="inline-form" onSubmit={submit} autocomplete="off">
        <label class="field grow">
          <span class="sr-only">New provider key for {p.name}</span>
          <input
            type="password"
            name="key"
            value={newKey}
            onInput={(e) => setNewKey((e.target as HTMLInputElement).value)}
            placeholder={`New ${p.vendor} key: add it, then retire the old one`}
            autocomplete="off"
            spellcheck={false}
          />
        </label>
        <button type="submit" class="btn" disabled={add.busy || !newKey.trim()}>
          {add.busy ? 'Adding…' : 'Add key'}
        </button>
      </form>
      <ErrorNotice error={add.error} />
    </article>
  );
}

/**
 * The profile's budgets (issue 19): what all its vault keys spent today and this month, against
 * its caps when it has them, and a form to set or remove them (an empty field removes one).
 */
function Budgets(props: { profile: CredentialProfile; api: Api; onChanged: (message: string) => Promise<void> }) {
  const p = props.profile;
  const [daily, setDaily] = useState(p.daily_usd_cap == null ? '' : String(p.daily_usd_cap));
  const [monthly, setMonthly] = useState(p.monthly_usd_cap == null ? '' : String(p.monthly_usd_cap));
  const save = useAction(async (body: { daily_usd_cap: number | null; monthly_usd_cap: number | null }) =>
    props.api.patch<CredentialProfile>(`/credentials/${encodeURIComponent(p.id)}`, body),
  );
  const cap = (v: string) => (v.trim() === '' ? null : Number(v));

  async function submit(e: Event) {
    e.preventDefault();
    const res = await save.run({ daily_usd_cap: cap(daily), monthly_usd_cap: cap(monthly) });
    if (res === undefined) return;
    await props.onChanged(`Saved the budgets of ${p.name}.`);
  }

  return (
    <div class="budgets" data-testid="profile-budgets">
      <div class="budget">
        <span class="sub muted">Today (UTC)</span>
        {p.daily_usd_cap != null ? (
          <SpendBar spent={p.spent_today_usd ?? 0} reserved={p.reserved_today_usd ?? 0} cap={p.daily_usd_cap} />
        ) : (
          <div class="sub">{formatUsd(p.spent_today_usd ?? 0)}, no daily cap</div>
        )}
      </div>
      <div class="budget">
        <span class="sub muted">This month (UTC)</span>
        {p.monthly_usd_cap != null ? (
          <SpendBar spent={p.spent_this_month_usd ?? 0} reserved={p.reserved_this_month_usd ?? 0} cap={p.monthly_usd_cap} period="this month (UTC)" capName="monthly cap" />
        ) : (
          <div class="sub">{formatUsd(p.spent_this_month_usd ?? 0)}, no monthly cap</div>
        )}
      </div>
      <form class="inline-form" onSubmit={submit} autocomplete="off">
        <label class="field">
          <span>Daily cap (USD)</span>
          <input type="number" min="0" step="any" name="daily_usd_cap" value={daily} placeholder="none" onInput={(e) => setDaily((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span>Monthly cap (USD)</span>
          <input type="number" min="0" step="any" name="monthly_usd_cap" value={monthly} placeholder="none" onInput={(e) => setMonthly((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="btn" disabled={save.busy}>
          {save.busy ? 'Saving…' : 'Save budgets'}
        </button>
      </form>
      <ErrorNotice error={save.error} />
    </div>
  );
}
