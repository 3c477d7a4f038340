import { useMemo, useState } from 'preact/hooks';
import { apiFor, ApiError, loadSession, saveSession, type Session } from './api';
import { AuditPage } from './pages/audit';
import { CredentialsPage } from './pages/credentials';
import { GatewayKeysPage } from './pages/gateway-keys';
import { SignIn } from './pages/sign-in';
import { UsagePage } from './pages/usage';
import { VaultKeysPage } from './pages/vault-keys';
import { WebhooksPage } from './pages/webhooks';
import { href, onLinkClick, useLocation, type Page } from './router';

const NAV: { page: Page; label: string }[] = [
  { page: 'keys', label: 'Vault keys' },
  { page: 'audit', label: 'Audit' },
  { page: 'usage', label: 'Usage' },
  { page: 'credentials', label: 'Credentials' },
  { page: 'webhooks', label: 'Webhooks' },
  { page: 'gateway-keys', label: 'Gateway keys' },
];

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [signedOutBy, setSignedOutBy] = useState<ApiError | null>(null);
  const [switchingTenant, setSwitchingTenant] = useState(false);
  const location = useLocation();

  function signIn(s: Session) {
    saveSession(s);
    setSignedOutBy(null);
    setSwitchingTenant(false);
    setSession(s);
  }
  function signOut(reason: ApiError | null = null) {
    saveSession(null);
    setSignedOutBy(reason);
    setSwitchingTenant(false);
    setSession(null);
  }

  const api = useMemo(() => (session ? apiFor(session, (e) => signOut(e)) : null), [session]);

  if (!session || !api || switchingTenant) {
    return (
      <SignIn
        onSignedIn={signIn}
        notice={signedOutBy}
        adminToken={switchingTenant && session?.kind === 'admin' ? session.token : null}
        onCancel={switchingTenant ? () => setSwitchingTenant(false) : undefined}
      />
    );
  }

  const query = location.query;
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href={href('keys')} onClick={onLinkClick}>
          <img src="/console/favicon.svg" alt="" width={22} height={22} />
          <span>Keyvault</span>
        </a>
        <nav class="nav" aria-label="Pages">
          {NAV.map((n) => (
            <a
              key={n.page}
              href={href(n.page)}
              onClick={onLinkClick}
              class={location.page === n.page ? 'active' : undefined}
              aria-current={location.page === n.page ? 'page' : undefined}
            >
              {n.label}
            </a>
          ))}
        </nav>
        <div class="whoami">
          <span class="whoami-tenant" title={session.tenant} data-testid="current-tenant">
            {session.tenantLabel}
          </span>
          <span class="whoami-kind">{session.kind === 'admin' ? 'platform admin' : 'tenant API key'}</span>
          {session.kind === 'admin' && (
            <button type="button" class="btn btn-small" onClick={() => setSwitchingTenant(true)}>
              Switch tenant
            </button>
          )}
          <button type="button" class="btn btn-small" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      {/* keyed by tenant: switching tenants starts every page afresh */}
      <main class="content" key={session.tenant}>
        {location.page === 'keys' && <VaultKeysPage api={api} query={query} />}
        {location.page === 'audit' && <AuditPage api={api} query={query} />}
        {location.page === 'credentials' && <CredentialsPage api={api} />}
        {location.page === 'webhooks' && <WebhooksPage api={api} />}
        {location.page === 'usage' && <UsagePage api={api} />}
        {location.page === 'gateway-keys' && <GatewayKeysPage api={api} />}
      </main>
    </div>
  );
}
