import { useEffect, useState } from 'preact/hooks';
import { ApiError, request, type List, type Session } from '../api';
import { Empty, ErrorNotice } from '../components/ui';
import type { Tenant, WhoAmI } from '../types';

/** Enough for a picker; an operator with more tenants than this types to filter. */
const MAX_TENANT_PAGES = 10;

async function allTenants(token: string): Promise<Tenant[]> {
  const tenants: Tenant[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_TENANT_PAGES; page++) {
    const qs = new URLSearchParams({ limit: '100', ...(after ? { starting_after: after } : {}) });
    const list = await request<List<Tenant>>({ token }, 'GET', `/tenants?${qs}`);
    tenants.push(...list.data);
    if (!list.has_more || list.data.length === 0) break;
    after = list.data[list.data.length - 1].id;
  }
  return tenants;
}

/**
 * One field takes either credential: GET /me says which it is. A tenant API key opens its own
 * tenant; the admin token leads to the tenant picker.
 */
export function SignIn(props: {
  onSignedIn: (s: Session) => void;
  notice: ApiError | null;
  /** An admin switching tenants: the token already checked, and a way back to the current tenant. */
  adminToken?: string | null;
  onCancel?: () => void;
}) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(Boolean(props.adminToken));
  const [error, setError] = useState<ApiError | null>(null);
  const [admin, setAdmin] = useState<{ token: string; tenants: Tenant[] } | null>(null);

  // An admin switching tenants comes back here with the token already checked.
  useEffect(() => {
    if (props.adminToken) void pickTenantFor(props.adminToken);
  }, []);

  async function pickTenantFor(adminToken: string) {
    setBusy(true);
    try {
      setAdmin({ token: adminToken, tenants: await allTenants(adminToken) });
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  }

  async function submit(e: Event) {
    e.preventDefault();
    const value = token.trim();
    if (!value) return;
    setBusy(true);
    setError(null);
    try {
      const me = await request<WhoAmI>({ token: value }, 'GET', '/me');
      if (me.kind === 'admin') {
        setToken('');
        await pickTenantFor(value);
        return;
      }
      props.onSignedIn({ token: value, kind: 'api_key', tenant: me.tenant!, tenantLabel: me.tenant!, scopes: me.scopes });
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="signin">
      <div class="signin-card">
        <div class="brand brand-large">
          <img src="/console/favicon.svg" alt="" width={32} height={32} />
          <span>Keyvault console</span>
        </div>
        <ErrorNotice error={props.notice} title="You were signed out." />
        {admin ? (
          <TenantPicker
            tenants={admin.tenants}
            onPick={(t) =>
              props.onSignedIn({ token: admin.token, kind: 'admin', tenant: t.id, tenantLabel: t.name, scopes: [] })
            }
            onBack={() => (props.onCancel ? props.onCancel() : setAdmin(null))}
          />
        ) : props.adminToken && busy ? (
          <p class="muted">Loading tenants…</p>
        ) : (
          <form onSubmit={submit} autocomplete="off">
            <label class="field">
              <span class="field-label">Tenant API key or admin token</span>
              <input
                type="password"
                name="keyvault-token"
                value={token}
                onInput={(e) => setToken((e.target as HTMLInputElement).value)}
                placeholder="kv_live_…"
                autocomplete="off"
                spellcheck={false}
                autofocus
                required
              />
              <span class="field-hint">
                Kept in this tab only (sessionStorage) and sent as <code>Authorization: Bearer</code>. With the admin
                token you then pick a tenant.
              </span>
            </label>
            <ErrorNotice error={error} />
            <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
              {busy ? 'Checking…' : 'Sign in'}
            </button>
          </form>
        )}
        {admin && <ErrorNotice error={error} />}
      </div>
    </main>
  );
}

function TenantPicker(props: { tenants: Tenant[]; onPick: (t: Tenant) => void; onBack: () => void }) {
  const [filter, setFilter] = useState('');
  const needle = filter.trim().toLowerCase();
  const shown = props.tenants.filter(
    (t) => !needle || t.name.toLowerCase().includes(needle) || t.slug.includes(needle) || t.id.includes(needle),
  );
  const [chosen, setChosen] = useState<string>(props.tenants[0]?.id ?? '');
  const selected = shown.find((t) => t.id === chosen) ?? shown[0];

  if (props.tenants.length === 0) {
    return (
      <div>
        <Empty title="No tenants yet.">
          Signed in as the platform admin. Create a tenant with <code>POST /tenants</code>, then come back.
        </Empty>
        <button type="button" class="btn btn-block" onClick={props.onBack}>
          Back
        </button>
      </div>
    );
  }
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (selected) props.onPick(selected);
      }}
    >
      <p class="signin-note">Signed in as the platform admin. Choose the tenant to act in.</p>
      {props.tenants.length > 8 && (
        <label class="field">
          <span class="field-label">Find</span>
          <input type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} placeholder="name, slug or id" />
        </label>
      )}
      <label class="field">
        <span class="field-label">Tenant</span>
        <select name="tenant" value={selected?.id} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
          {shown.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name} ({t.slug}){t.status === 'disabled' ? ' — disabled' : ''}
            </option>
          ))}
        </select>
      </label>
      <div class="row-gap">
        <button type="button" class="btn" onClick={props.onBack}>
          Back
        </button>
        <button type="submit" class="btn btn-primary grow" disabled={!selected}>
          Open tenant
        </button>
      </div>
    </form>
  );
}
