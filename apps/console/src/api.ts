/** Talks to the Keyvault api on the same origin, with the signed-in credential. */

export interface Session {
  /** The admin token or a tenant API key (kv_live_...): kept in sessionStorage only. */
  token: string;
  kind: 'admin' | 'api_key';
  /** The tenant everything acts in: the API key's own, or the one the admin picked. */
  tenant: string;
  /** Shown in the header: the tenant's name when known (admins can read it), else its id. */
  tenantLabel: string;
  scopes: string[];
}

export interface List<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

/** An error exactly as the api sent it (`error.code`, `error.message`, `error.param`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** A random Idempotency-Key, so a double click on "create" makes one thing (works outside secure contexts too). */
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export interface Credentials {
  token: string;
  tenant?: string | null;
}

export async function request<T>(
  creds: Credentials,
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH',
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', Authorization: `Bearer ${creds.token}` };
  if (creds.tenant) headers['Keyvault-Tenant'] = creds.tenant;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method === 'POST') headers['Idempotency-Key'] = idempotencyKey();

  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, 'network_error', `Could not reach the Keyvault api (${(err as Error).message}).`);
  }
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: reported below with the status line
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: unknown; message?: unknown; param?: unknown } } | undefined)?.error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') {
      throw new ApiError(res.status, e.code, e.message, typeof e.param === 'string' ? e.param : undefined);
    }
    throw new ApiError(res.status, `http_${res.status}`, text.slice(0, 300) || res.statusText || 'Request failed.');
  }
  return json as T;
}

/** The api bound to one session; pages call this. */
export interface Api {
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
}

export function apiFor(session: Session, onUnauthorized: (e: ApiError) => void): Api {
  const creds = { token: session.token, tenant: session.kind === 'admin' ? session.tenant : null };
  const call = async <T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> => {
    try {
      return await request<T>(creds, method, path, body);
    } catch (e) {
      // A key deleted (or an admin token rotated) while the page is open: back to sign-in.
      if (e instanceof ApiError && e.status === 401) onUnauthorized(e);
      throw e;
    }
  };
  return {
    get: (path, query) => call('GET', withQuery(path, query)),
    post: (path, body) => call('POST', path, body ?? {}),
    patch: (path, body) => call('PATCH', path, body),
    del: (path) => call('DELETE', path),
  };
}

const STORAGE_KEY = 'keyvault.console.session';

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
}
