/**
 * The two Keyvault calls a chat backend makes, written with fetch so they read like the HTTP
 * contract (in a TypeScript codebase, `@keyvault/client` gives the same calls typed).
 */
export interface KeyvaultSettings {
  /** The Keyvault api, e.g. http://localhost:3000 */
  apiUrl: string;
  /** A tenant API key with the scopes vault_keys:issue and vault_keys:revoke */
  apiKey: string;
  /** The credential profile whose provider key this chat spends, e.g. client_a_openai */
  credential: string;
  /** What one conversation may spend per UTC day */
  dailyUsdCap: number;
}

export interface IssuedVaultKey {
  id: string;
  vault_key: string;
  expires_at: string;
}

/** A refusal from Keyvault, with the contract's error code. */
export class KeyvaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(settings: KeyvaultSettings, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${settings.apiUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${settings.apiKey}`, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) throw new KeyvaultError(res.status, json.error?.code ?? 'unexpected_response', json.error?.message ?? `HTTP ${res.status}`);
  return json as T;
}

/**
 * One vault key per conversation: it can call only chat completions, spend at most the daily cap,
 * and dies after two hours even if nobody revokes it. The metadata ties it to the chat, so ending
 * the chat revokes it (and any other key issued for that chat) in one call.
 */
export function issueChatVaultKey(settings: KeyvaultSettings, chat: { chatId: string; userId: string }): Promise<IssuedVaultKey> {
  return call<IssuedVaultKey>(
    settings,
    'POST',
    '/vault/keys',
    {
      vendor: 'openai',
      credential: settings.credential,
      daily_usd_cap: settings.dailyUsdCap,
      allowed_endpoints: ['POST /v1/chat/completions'],
      expires_in: '2h',
      label: 'dify-chat',
      metadata: { conversation_id: chat.chatId, user_id: chat.userId },
    },
    // A retried request (timeout, restart) returns the same key instead of minting a second one.
    { 'Idempotency-Key': `dify-chat-${chat.chatId}` },
  );
}

/** Revokes every vault key issued for this chat; the proxy refuses them from the next call on. */
export async function revokeChatVaultKeys(settings: KeyvaultSettings, chatId: string): Promise<number> {
  const { revoked } = await call<{ revoked: number }>(settings, 'POST', '/vault/keys/revoke', { metadata: { conversation_id: chatId } });
  return revoked;
}
