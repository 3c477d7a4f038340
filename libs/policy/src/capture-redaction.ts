/**
 * Redaction of captured calls (issue 21): what a proxied call sent and received is kept only
 * after every credential is taken out of it. Pure functions, so the rules are unit-tested here
 * and applied the same everywhere.
 */

export const REDACTED = '[redacted]';

/** Headers that carry a credential by their very name. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key']);
/** ... or by a word in it (x-auth-token, x-goog-api-key, stripe-signature, x-twilio-signature). */
const CREDENTIAL_HEADER_WORDS = /(auth|token|secret|password|passwd|api[-_]?key|signature|session)/i;

/**
 * Values in known key formats, wherever they appear (bodies, header values, query strings):
 * OpenAI and Anthropic (`sk-`), Stripe secret and restricted keys (`sk_live_`, `sk_test_`,
 * `rk_live_`, `rk_test_`), Keyvault's own vault keys and tenant API keys, Resend (`re_`), and
 * Twilio API key SIDs and SID:token pairs (Basic credentials written out).
 */
const KEY_FORMATS: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  /\b[sr]k_(?:live|test)_[A-Za-z0-9]{8,}/g,
  /\bvault_key_[A-Za-z0-9._-]{8,}/g,
  /\bkv_live_[A-Za-z0-9_]{8,}/g,
  /\bre_[A-Za-z0-9_]{16,}/g,
  /\b(?:AC|SK)[0-9a-fA-F]{32}:[A-Za-z0-9]{16,}/g,
  /\bSK[0-9a-fA-F]{32}\b/g,
];

/** `text` with every value in a known key format replaced. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const re of KEY_FORMATS) out = out.replace(re, REDACTED);
  return out;
}

export function isCredentialHeader(name: string): boolean {
  const n = name.toLowerCase();
  return CREDENTIAL_HEADERS.has(n) || CREDENTIAL_HEADER_WORDS.test(n);
}

/** Headers as kept: credential headers' values replaced, key formats taken out of the rest. */
export function redactHeaders(headers: Record<string, string | string[] | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    out[name.toLowerCase()] = isCredentialHeader(name) ? REDACTED : redactSecrets(text);
  }
  return out;
}

export interface CapturedBody {
  /** the body as text, redacted and cut; base64 when it was not UTF-8 text */
  text: string;
  encoding: 'utf8' | 'base64';
  /** the body's whole size */
  bytes: number;
  truncated: boolean;
}

/**
 * A body as kept: redacted first, then cut at `maxBytes`. When cut, the word the cut went
 * through is dropped too, so no prefix of a key shorter than its format's pattern survives.
 * `seen` may be shorter than the body (the collector stops early); `totalBytes` is the real size.
 */
export function captureBody(seen: Buffer, totalBytes: number, maxBytes: number): CapturedBody {
  const isText = looksLikeText(seen);
  if (!isText) {
    const cut = seen.subarray(0, maxBytes);
    return { text: cut.toString('base64'), encoding: 'base64', bytes: totalBytes, truncated: totalBytes > cut.length };
  }
  let text = redactSecrets(seen.toString('utf8'));
  let truncated = totalBytes > seen.length;
  if (Buffer.byteLength(text) > maxBytes) {
    text = Buffer.from(text).subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
    truncated = true;
  }
  if (truncated) text = text.replace(/[A-Za-z0-9_\-.:]+$/, '');
  return { text, encoding: 'utf8', bytes: totalBytes, truncated };
}

function looksLikeText(b: Buffer): boolean {
  const sample = b.subarray(0, 512);
  if (sample.includes(0)) return false;
  // a cut through a multi-byte character at the end is still text
  return !/\uFFFD/.test(sample.toString('utf8').slice(0, -1));
}

/** What a streamed (SSE) answer said, assembled: its text and its usage. */
export interface AssembledStream {
  text: string;
  usage: Record<string, unknown> | null;
  events: number;
}

/**
 * Assembles an SSE answer's text and usage from its `data:` events: OpenAI chat chunks
 * (`choices[].delta.content`), the Responses API (`delta` of output_text events), Anthropic
 * (`delta.text`); `usage` objects met on the way are merged (Anthropic sends input tokens first
 * and output tokens last).
 */
export function assembleSse(raw: string): AssembledStream {
  let text = '';
  let usage: Record<string, unknown> | null = null;
  let events = 0;
  for (const line of raw.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '' || data === '[DONE]') continue;
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(data) as Record<string, unknown>;
    } catch {
      continue;
    }
    events++;
    text += textOf(event);
    const found = (event.usage ?? (event.message as Record<string, unknown> | undefined)?.usage ?? (event.response as Record<string, unknown> | undefined)?.usage) as
      | Record<string, unknown>
      | null
      | undefined;
    if (found && typeof found === 'object') usage = { ...(usage ?? {}), ...found };
  }
  return { text, usage, events };
}

function textOf(event: Record<string, unknown>): string {
  const choices = event.choices;
  if (Array.isArray(choices)) {
    return choices.map((c) => (c as { delta?: { content?: unknown } }).delta?.content).filter((t): t is string => typeof t === 'string').join('');
  }
  const delta = event.delta;
  if (typeof delta === 'string' && typeof event.type === 'string' && event.type.endsWith('output_text.delta')) return delta;
  if (delta && typeof delta === 'object' && typeof (delta as { text?: unknown }).text === 'string') return (delta as { text: string }).text;
  return '';
}
