import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DifyError, sendChatMessage, type DifySettings } from './dify';
import { issueChatVaultKey, KeyvaultError, revokeChatVaultKeys, type KeyvaultSettings } from './keyvault';

export interface ChatBackendSettings {
  keyvault: KeyvaultSettings;
  dify: DifySettings;
}

interface Chat {
  userId: string;
  vaultKey: string;
  /** the vault key's id (vk_...): what an LLM node behind a gateway key needs, not a secret */
  vaultKeyId: string;
  /** Dify's id, known after the first answer */
  difyConversationId?: string;
}

/**
 * A chat backend in front of a Dify Chatflow:
 *   POST /chat            {user, query, chat_id?} → {chat_id, answer}
 *                         (no chat_id: a new chat, with its own vault key)
 *   POST /chat/{id}/end   → {chat_id, revoked_vault_keys}
 * The vault key travels to Dify as the Start-node input `vault_key`; the Chatflow's HTTP node sends
 * it to the Keyvault proxy as its Bearer token. Its id travels as `vault_key_id`, for a Chatflow
 * whose LLM node reaches the proxy with a gateway key (the id is the system prompt's first line). Chats live in memory: a real backend keeps them
 * in its database.
 */
export function createChatBackend(settings: ChatBackendSettings): Server {
  const chats = new Map<string, Chat>();

  async function message(body: { user?: unknown; query?: unknown; chat_id?: unknown }) {
    if (typeof body.user !== 'string' || !body.user) throw new BadRequest('user is required');
    if (typeof body.query !== 'string' || !body.query) throw new BadRequest('query is required');
    let chatId: string;
    let chat: Chat | undefined;
    if (typeof body.chat_id === 'string') {
      chatId = body.chat_id;
      chat = chats.get(chatId);
      // another user's chat id is as unknown as a made-up one
      if (!chat || chat.userId !== body.user) throw new NotFound(`no chat ${chatId}`);
    } else {
      chatId = `chat_${randomUUID()}`;
      const key = await issueChatVaultKey(settings.keyvault, { chatId, userId: body.user });
      chat = { userId: body.user, vaultKey: key.vault_key, vaultKeyId: key.id };
      chats.set(chatId, chat);
    }
    const reply = await sendChatMessage(settings.dify, {
      // vault_key for an HTTP node, vault_key_id for an LLM node through a gateway key (docs/dify.md (a))
      inputs: { vault_key: chat.vaultKey, vault_key_id: chat.vaultKeyId, chat_id: chatId },
      query: body.query,
      user: chat.userId,
      conversationId: chat.difyConversationId,
    });
    chat.difyConversationId = reply.conversation_id;
    return { chat_id: chatId, answer: reply.answer };
  }

  async function end(chatId: string) {
    if (!chats.has(chatId)) throw new NotFound(`no chat ${chatId}`);
    const revoked = await revokeChatVaultKeys(settings.keyvault, chatId);
    chats.delete(chatId);
    return { chat_id: chatId, revoked_vault_keys: revoked };
  }

  return createServer((req, res) => {
    route(req)
      .then((result) => send(res, 200, result))
      .catch((err: unknown) => send(res, ...describe(err)));
  });

  async function route(req: IncomingMessage): Promise<unknown> {
    const url = new URL(req.url ?? '/', 'http://backend');
    if (req.method === 'POST' && url.pathname === '/chat') return message(await readJson(req));
    const ending = /^\/chat\/([^/]+)\/end$/.exec(url.pathname);
    if (req.method === 'POST' && ending) return end(decodeURIComponent(ending[1]));
    throw new NotFound(`${req.method} ${url.pathname}`);
  }
}

class BadRequest extends Error {}
class NotFound extends Error {}

function describe(err: unknown): [number, unknown] {
  if (err instanceof BadRequest) return [400, { error: err.message }];
  if (err instanceof NotFound) return [404, { error: err.message }];
  // Upstream refusals are shown with their code, so an operator can tell a cap from an outage.
  if (err instanceof KeyvaultError) return [502, { error: `keyvault: ${err.message}`, code: err.code }];
  if (err instanceof DifyError) return [502, { error: `dify: ${err.message}`, code: err.code }];
  return [500, { error: 'internal error' }];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > 64 * 1024) throw new BadRequest('body too large');
  }
  try {
    const parsed: unknown = JSON.parse(raw || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // not JSON: answered below like any other non-object
  }
  throw new BadRequest('body must be a JSON object');
}
