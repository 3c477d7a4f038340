import type { IncomingHttpHeaders } from 'node:http';
import { KeyvaultError } from '@keyvault/errors';

/** The request header a client that can set headers names its vault key with. */
export const VAULT_KEY_ID_HEADER = 'x-vault-key-id';

/**
 * A first system-prompt line `X-Vault-Key-Id: vk_...`: the one per-run value Dify's LLM node
 * lets a workflow put into the request (its `user` is Dify's own end-user id, see docs/dify.md).
 */
const PROMPT_LINE = /^[ \t]*X-Vault-Key-Id:[ \t]*(\S*)[ \t]*(?:\r?\n|$)/i;
const VAULT_KEY_ID = /^vk_[0-9a-z]{26}$/;

export interface GatewayBinding {
  /** the vault key the call is bound to, as the client named it (null: none named) */
  vaultKeyId: string | null;
  /** the body to forward when the prompt line was stripped from it; null: forward it as read */
  rewrittenBody: Buffer | null;
}

type Json = Record<string, unknown>;
type Part = { type?: unknown; text?: unknown };

/**
 * Which vault key a call made with a gateway key is for: the `X-Vault-Key-Id` header, the
 * OpenAI body's `user` when it is a `vk_` id, or a first system-prompt line (OpenAI `messages`
 * or Anthropic `system`), which is stripped before the call goes upstream. Several places
 * naming different ids are refused (400 vault_key_id_conflict) rather than guessed between.
 */
export function bindGatewayCall(headers: IncomingHttpHeaders, body: Buffer): GatewayBinding {
  const named = new Set<string>();
  const header = headers[VAULT_KEY_ID_HEADER];
  if (typeof header === 'string' && header.trim() !== '') named.add(header.trim());
  let rewrittenBody: Buffer | null = null;
  const json = parseJsonObject(body);
  if (json) {
    if (typeof json.user === 'string' && json.user.startsWith('vk_')) named.add(json.user);
    const fromPrompt = stripPromptLine(json);
    if (fromPrompt !== null) {
      named.add(fromPrompt);
      rewrittenBody = Buffer.from(JSON.stringify(json), 'utf8');
    }
  }
  if (named.size > 1) {
    throw new KeyvaultError('vault_key_id_conflict', 'The request names more than one vault key id (X-Vault-Key-Id header, body user, system prompt); name one.');
  }
  const [vaultKeyId = null] = named;
  if (vaultKeyId !== null && !VAULT_KEY_ID.test(vaultKeyId)) throw new KeyvaultError('invalid_vault_key', 'The vault key id named with this gateway key is malformed.');
  return { vaultKeyId, rewrittenBody };
}

function parseJsonObject(body: Buffer): Json | null {
  // cheap test first: most bodies that are not JSON objects are not worth parsing
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  if (body[i] !== 0x7b) return null;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : null;
  } catch {
    return null;
  }
}

/** Removes the binding line from the first system prompt (in place) and returns the id it named. */
function stripPromptLine(json: Json): string | null {
  const index = Array.isArray(json.messages)
    ? json.messages.findIndex((m: unknown) => typeof m === 'object' && m !== null && (m as Json).role === 'system')
    : -1;
  if (Array.isArray(json.messages) && index >= 0) {
    const message = json.messages[index] as Json;
    const stripped = stripFrom(message.content);
    if (!stripped) return null;
    if (isEmpty(stripped.content)) json.messages.splice(index, 1);
    else message.content = stripped.content;
    return stripped.id;
  }
  const stripped = stripFrom(json.system);
  if (!stripped) return null;
  if (isEmpty(stripped.content)) delete json.system;
  else json.system = stripped.content;
  return stripped.id;
}

/** A prompt's content is a string or a list of parts whose first text part may carry the line. */
function stripFrom(content: unknown): { id: string; content: unknown } | null {
  if (typeof content === 'string') {
    const m = PROMPT_LINE.exec(content);
    return m ? { id: m[1], content: content.slice(m[0].length) } : null;
  }
  if (!Array.isArray(content)) return null;
  const first = content.findIndex((p: unknown) => typeof p === 'object' && p !== null && (p as Part).type === 'text');
  if (first < 0) return null;
  const part = content[first] as Part;
  if (typeof part.text !== 'string') return null;
  const m = PROMPT_LINE.exec(part.text);
  if (!m) return null;
  const rest = part.text.slice(m[0].length);
  const parts = [...content];
  if (rest === '') parts.splice(first, 1);
  else parts[first] = { ...part, text: rest };
  return { id: m[1], content: parts };
}

const isEmpty = (content: unknown): boolean => content === '' || (Array.isArray(content) && content.length === 0);
