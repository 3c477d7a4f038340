/**
 * `allowed_endpoints` entries: `"METHOD /path"`, where a path segment `*` matches exactly one
 * segment, a final `**` matches the rest of the path (one or more segments), and method `*`
 * matches any method. Matched against the normalised vendor path (see request-path.ts),
 * segment by segment and case-sensitively; the query string is never part of the match.
 */
export interface EndpointRule {
  raw: string;
  /** uppercase HTTP method, or '*' */
  method: string;
  /** literal segments, '*' or a final '**' */
  segments: string[];
}

export type RuleParse = { ok: true; rule: EndpointRule } | { ok: false; message: string };

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', '*']);
const SEGMENT = /^(?:\*\*?|[A-Za-z0-9._~!$&'()+,;=:@-]+|\{[A-Za-z0-9_]+\})$/;

export function parseEndpointRule(entry: unknown): RuleParse {
  if (typeof entry !== 'string') return { ok: false, message: 'must be a string like "POST /v1/chat/completions"' };
  const m = /^([A-Za-z*]+) (\/\S*)$/.exec(entry.trim());
  if (!m) return { ok: false, message: `"${entry}" must look like "METHOD /path"` };
  const method = m[1].toUpperCase();
  if (!METHODS.has(method)) return { ok: false, message: `unknown method "${m[1]}"` };
  const path = m[2];
  if (path.includes('?')) return { ok: false, message: 'a query string is never part of the match' };
  const segments = path.split('/').filter((s) => s !== '');
  for (const [i, seg] of segments.entries()) {
    if (!SEGMENT.test(seg) || seg === '.' || seg === '..') return { ok: false, message: `invalid path segment "${seg}"` };
    if (seg === '**' && i !== segments.length - 1) return { ok: false, message: '"**" may only end a path' };
  }
  // `{sid}`-style placeholders (as vendors document paths) mean one segment, like `*`.
  return { ok: true, rule: { raw: entry, method, segments: segments.map((s) => (s.startsWith('{') ? '*' : s)) } };
}

/** Compiles entries that were validated at issue time; an invalid one is dropped (it can never match). */
export function compileEndpointRules(entries: readonly string[]): EndpointRule[] {
  const rules: EndpointRule[] = [];
  for (const e of entries) {
    const r = parseEndpointRule(e);
    if (r.ok) rules.push(r.rule);
  }
  return rules;
}

export function matchEndpoint(rules: readonly EndpointRule[], method: string, normalizedPath: string): boolean {
  const upper = method.toUpperCase();
  const segments = normalizedPath.split('/').filter((s) => s !== '');
  return rules.some((r) => (r.method === '*' || r.method === upper) && matchSegments(r.segments, segments));
}

function matchSegments(pattern: readonly string[], segments: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '**') return segments.length > i;
    if (i >= segments.length) return false;
    if (p !== '*' && p !== segments[i]) return false;
  }
  return pattern.length === segments.length;
}
