import type { Api } from '../api';
import { ErrorNotice } from '../components/ui';
import { useResource } from '../hooks';
import type { AuditRow } from '../types';

interface CapturedBody {
  text: string;
  encoding: 'utf8' | 'base64';
  bytes: number;
  truncated: boolean;
}
interface Capture {
  level: 'metadata' | 'bodies';
  request: { headers: Record<string, string>; body?: CapturedBody | null };
  response: {
    status: number;
    headers: Record<string, string>;
    body?: CapturedBody | null;
    stream?: { text: string; usage: Record<string, unknown> | null; events: number } | null;
  } | null;
}

/** One call in full: GET /audit/{id}, with what the proxy captured when the key asked for it. */
export function AuditDetail({ api, id }: { api: Api; id: string }) {
  const entry = useResource(() => api.get<AuditRow & { capture: Capture | null }>(`/audit/${encodeURIComponent(id)}`), [id]);
  const c = entry.data?.capture;
  return (
    <div class="audit-detail" data-testid="audit-detail" data-capture={entry.data ? (c?.level ?? 'none') : undefined}>
      <ErrorNotice error={entry.error} />
      {entry.data && !c && <p class="muted">Nothing captured: this key's capture is none (set capture on the vault key to keep headers or bodies).</p>}
      {c && (
        <div class="capture-grid">
          <div data-testid="capture-request">
            <strong>Request</strong>
            <Headers headers={c.request.headers} />
            {c.request.body !== undefined && <Body body={c.request.body} />}
          </div>
          <div data-testid="capture-response">
            <strong>Response {c.response ? c.response.status : ''}</strong>
            {c.response ? (
              <>
                <Headers headers={c.response.headers} />
                {c.response.stream && (
                  <div class="sub">
                    <div class="field-label">Streamed text</div>
                    <pre class="excerpt" data-testid="capture-stream">{c.response.stream.text}</pre>
                    {c.response.stream.usage && <code>{JSON.stringify(c.response.stream.usage)}</code>}
                  </div>
                )}
                {c.response.body !== undefined && <Body body={c.response.body} />}
              </>
            ) : (
              <p class="muted">No answer from upstream (refused by Keyvault).</p>
            )}
          </div>
        </div>
      )}
    </div>
  );
}

function Headers({ headers }: { headers: Record<string, string> }) {
  return (
    <table class="table table-dense">
      <tbody>
        {Object.entries(headers).map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>
              <code>{v}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Body({ body }: { body: CapturedBody | null }) {
  if (!body) return <p class="muted">Empty body.</p>;
  return (
    <div>
      <div class="sub muted">
        {body.bytes} bytes{body.truncated ? ', cut' : ''}
        {body.encoding === 'base64' ? ', binary (base64)' : ''}
      </div>
      <pre class="excerpt" data-testid="capture-body">{body.text}</pre>
    </div>
  );
}
