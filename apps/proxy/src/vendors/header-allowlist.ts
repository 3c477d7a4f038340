/**
 * Which headers cross the proxy, by allowlist in both directions. Going up, a client header
 * can change who pays or what is billed (`openai-organization`, `openai-project`,
 * `anthropic-beta`, `stripe-account`) or carry what the vendor should never see (cookies);
 * coming back, one can tell the key holder whose account the real key is
 * (`openai-organization`, `anthropic-organization-id`) or set state on the client
 * (`set-cookie`). So each adapter names what it forwards and returns, everything else is
 * dropped, and a vault key's `allowed_headers` may add names, never the credential carriers.
 */
export interface HeaderAllowlist {
  /** client → vendor: lowercase names; an entry ending in `*` is a prefix */
  readonly up: readonly string[];
  /** vendor → client */
  readonly down: readonly string[];
}

/** What every vendor's calls need, going up: the body's type and what the client accepts. */
export const COMMON_UP = ['content-type', 'accept', 'accept-encoding', 'accept-language', 'user-agent'] as const;
/** What every answer needs, coming back: how to read the body, and when to retry. */
export const COMMON_DOWN = [
  'content-type', 'content-length', 'content-encoding', 'content-language', 'content-disposition',
  'date', 'cache-control', 'vary', 'etag', 'last-modified', 'retry-after',
] as const;

export type HeaderTest = (name: string) => boolean;

/** A test for lowercase header names against a list (entries ending in `*` are prefixes). */
export function headerTest(names: readonly string[]): HeaderTest {
  const exact = new Set(names.filter((n) => !n.endsWith('*')));
  const prefixes = names.filter((n) => n.endsWith('*')).map((n) => n.slice(0, -1));
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p));
}

const compiled = new WeakMap<HeaderAllowlist, { up: HeaderTest; down: HeaderTest }>();

/** An adapter's allowlist as tests, compiled once. */
export function headerTests(list: HeaderAllowlist): { up: HeaderTest; down: HeaderTest } {
  let tests = compiled.get(list);
  if (!tests) compiled.set(list, (tests = { up: headerTest(list.up), down: headerTest(list.down) }));
  return tests;
}

/** The adapter's tests widened by a vault key's allowed_headers (exact names). */
export function withAllowed(test: HeaderTest, allowed: readonly string[]): HeaderTest {
  return allowed.length === 0 ? test : (name) => test(name) || allowed.includes(name);
}
