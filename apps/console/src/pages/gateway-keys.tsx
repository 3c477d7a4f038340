import { useState } from 'preact/hooks';
import type { Api, List } from '../api';
import { ConfirmDialog, Empty, ErrorNotice, Flash, Id, PageHeader, StatusBadge } from '../components/ui';
import { dateTime } from '../format';
import { useAction, useResource } from '../hooks';
import type { GatewayKey } from '../types';

/**
 * Gateway keys: one per tool that holds a single API key (Dify's model provider). Created here,
 * shown once, revoked here; a call made with one must name the vault key it is for.
 */
export function GatewayKeysPage({ api }: { api: Api }) {
  const keys = useResource(() => api.get<List<GatewayKey>>('/gateway-keys', { limit: 100 }), []);
  const [created, setCreated] = useState<GatewayKey | null>(null);
  const [flash, setFlash] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [revoking, setRevoking] = useState<GatewayKey | null>(null);
  const create = useAction((n: string) => api.post<GatewayKey>('/gateway-keys', { name: n }));
  const revoke = useAction(async (k: GatewayKey) => {
    await api.del(`/gateway-keys/${encodeURIComponent(k.id)}`);
    return true;
  });

  async function submit(e: Event) {
    e.preventDefault();
    const n = name.trim();
    if (!n) return;
    const res = await create.run(n);
    if (res === undefined) return;
    setName('');
    setCreated(res);
    await keys.reload();
  }

  async function confirmRevoke() {
    if (!revoking) return;
    if (!(await revoke.run(revoking))) return;
    setFlash(`Revoked the gateway key ${revoking.name}.`);
    setRevoking(null);
    await keys.reload();
  }

  const list = keys.data?.data ?? [];
  return (
    <section>
      <PageHeader
        title="Gateway keys"
        subtitle={
          <>
            One key to paste into a tool that holds a single API key (Dify&apos;s model provider). On its own it does nothing: each call
            names one of your vault keys (<code>X-Vault-Key-Id</code> header, the body&apos;s <code>user</code>, or a first system-prompt
            line <code>X-Vault-Key-Id: vk_...</code>), whose cap and allowlist then apply.
          </>
        }
      />
      <Flash message={flash} onClose={() => setFlash(null)} />
      <form class="inline-form" onSubmit={submit} autocomplete="off">
        <label class="field grow">
          <span class="sr-only">Name of the new gateway key</span>
          <input
            type="text"
            name="name"
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
            placeholder="What it is pasted into, e.g. dify production"
          />
        </label>
        <button type="submit" class="btn" disabled={create.busy || !name.trim()}>
          {create.busy ? 'Creating…' : 'Create gateway key'}
        </button>
      </form>
      <ErrorNotice error={create.error} />
      {created?.gateway_key && (
        <div class="notice notice-secret" role="status" data-testid="gateway-key-secret">
          <div>
            <strong>Gateway key {created.name}</strong> — copy it now, it is not shown again.
          </div>
          <code class="secret">{created.gateway_key}</code>
          <button type="button" class="btn btn-small" onClick={() => setCreated(null)}>
            I have stored it
          </button>
        </div>
      )}
      <ErrorNotice error={keys.error} title="Could not load gateway keys." />
      {!keys.data && keys.loading && <p class="muted loading">Loading gateway keys…</p>}
      {keys.data && list.length === 0 && <Empty title="No gateway keys yet." />}
      {list.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Status</th>
              <th>Created</th>
              <th class="col-actions">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((k) => (
              <tr key={k.id} data-gateway-key-id={k.id}>
                <td>
                  {k.name}
                  <div class="sub">
                    <Id value={k.id} />
                  </div>
                </td>
                <td>
                  <code class="last4">kv_gw_••••{k.last4}</code>
                </td>
                <td>
                  <StatusBadge status={k.status} />
                </td>
                <td class="nowrap">
                  {dateTime(k.created_at)}
                  {k.revoked_at && <div class="sub muted">revoked {dateTime(k.revoked_at)}</div>}
                </td>
                <td class="col-actions">
                  {k.status === 'active' && (
                    <button
                      type="button"
                      class="btn btn-small btn-danger-outline"
                      onClick={() => {
                        revoke.reset();
                        setRevoking(k);
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
      )}
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this gateway key?"
        confirmLabel="Revoke"
        danger
        busy={revoke.busy}
        error={revoke.error}
        onConfirm={() => void confirmRevoke()}
        onCancel={() => setRevoking(null)}
      >
        {revoking && (
          <p>
            <strong>{revoking.name}</strong> is refused from its next call, on every proxy. Tools that hold it stop reaching any vault key.
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}
