import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { json, startStubServer, type StubServer } from './stub-server';

/**
 * A loopback stand-in for Resend's API: `POST /emails` (answers `{id}`), `POST /emails/batch`
 * (strict by default; `x-batch-validation: permissive` sends the valid emails and lists the
 * others in `errors`), `GET /emails/{id}`. The key must come as Bearer (401 otherwise).
 */
export async function startResendStub(): Promise<StubServer> {
  const sent = new Map<string, Record<string, unknown>>();
  const error = (res: ServerResponse, statusCode: number, name: string, message: string) => json(res, statusCode, { statusCode, name, message });
  const invalid = (email: unknown): string | null => {
    const e = email as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null) return 'An email must be an object.';
    if (!e.from) return 'Missing `from` field.';
    if (!e.to || (Array.isArray(e.to) && e.to.length === 0)) return 'Missing `to` field.';
    return null;
  };
  const send = (email: Record<string, unknown>) => {
    const id = randomUUID();
    sent.set(id, { object: 'email', id, ...email, created_at: new Date().toISOString(), last_event: 'delivered' });
    return { id };
  };

  return startStubServer((req, res) => {
    if (!/^bearer \S+/i.test(req.headers.authorization ?? '')) return error(res, 401, 'missing_api_key', 'Missing API key in the authorization header.');
    if (req.method === 'POST' && req.path === '/emails') {
      const email = JSON.parse(req.body.toString('utf8') || 'null') as Record<string, unknown>;
      const problem = invalid(email);
      return problem ? error(res, 422, 'validation_error', problem) : json(res, 200, send(email));
    }
    if (req.method === 'POST' && req.path === '/emails/batch') {
      const emails = JSON.parse(req.body.toString('utf8') || '[]') as Record<string, unknown>[];
      const problems = emails.map(invalid);
      const permissive = req.headers['x-batch-validation'] === 'permissive';
      const firstProblem = problems.find((p) => p !== null);
      if (!permissive && firstProblem) return error(res, 422, 'validation_error', firstProblem);
      const data = emails.filter((_, i) => problems[i] === null).map(send);
      const errors = problems.flatMap((message, index) => (message === null ? [] : [{ index, message }]));
      return json(res, 200, permissive ? { data, errors } : { data });
    }
    const one = /^\/emails\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && one) {
      const email = sent.get(one[1]);
      return email ? json(res, 200, email) : error(res, 404, 'not_found', 'Email not found');
    }
    error(res, 404, 'not_found', `stub: no route ${req.method} ${req.path}`);
  });
}
