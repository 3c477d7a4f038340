/**
 * Normalises the path of a proxied request before the allowlist sees it, so that no spelling
 * of a path reaches an endpoint that is not listed: percent-decoding (once), `.` and `..`
 * segments, doubled slashes. Encoded slashes and backslashes, NUL and other control bytes,
 * a double encoding (`%252e`), and `..` above the root are refused rather than guessed at.
 * The result is also the path forwarded upstream, so what is checked is what is sent.
 */
export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

const MAX_PATH = 4096;

/**
 * A path that is already normal: segments of characters a segment may hold as they are (no
 * `%`, no empty, `.` or `..` segment), optionally a trailing slash. Such a path normalises to
 * itself, and nearly every real call has one, so it skips the decoding and re-encoding.
 */
const ALREADY_NORMAL = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._~!$&'()*+,;=:@-]+)+\/?$/;

export function normalizeRequestPath(raw: string): NormalizedPath {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_PATH) return { ok: false, reason: 'path length' };
  if (ALREADY_NORMAL.test(raw)) return { ok: true, path: raw };
  if (!raw.startsWith('/')) return { ok: false, reason: 'path must start with /' };
  if (raw.includes('?') || raw.includes('#')) return { ok: false, reason: 'query or fragment in path' };
  const out: string[] = [];
  for (const encoded of raw.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(encoded);
    } catch {
      return { ok: false, reason: 'malformed percent-encoding' };
    }
    if (/[/\\]/.test(seg)) return { ok: false, reason: 'encoded slash' };
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(seg)) return { ok: false, reason: 'control character' };
    if (/%[0-9a-f]{2}/i.test(seg)) return { ok: false, reason: 'double percent-encoding' };
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return { ok: false, reason: 'path escapes the root' };
      out.pop();
      continue;
    }
    out.push(seg);
  }
  const trailing = raw.length > 1 && raw.endsWith('/') && out.length > 0 ? '/' : '';
  return { ok: true, path: `/${out.map(encodeSegment).join('/')}${trailing}` };
}

/** Re-encodes a decoded segment for the upstream request (keeps what RFC 3986 allows in a segment). */
function encodeSegment(seg: string): string {
  return encodeURIComponent(seg).replace(/%(3A|40|21|24|26|27|28|29|2A|2B|2C|3B|3D)/gi, (m) => decodeURIComponent(m));
}
