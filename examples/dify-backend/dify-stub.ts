import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for Dify's service API, `POST /v1/chat-messages` in blocking mode, running the
 * Chatflow of docs/dify.md flow (c) the way Dify runs it:
 *
 *   Start (inputs: vault_key, chat_id)
 *     → HTTP Request node: POST {proxy}/openai/v1/chat/completions, Bearer {{#start.vault_key#}}
 *     → IF/ELSE on the node's status_code: 200 → the model's reply; 429 → the cap message; else → an outage message
 *     → Answer
 *
 * Like Dify it keeps a conversation's inputs from its first message, substitutes `{{#node.var#}}`
 * into the node's URL, headers and JSON body as plain text, and (retry and error handling off)
 * lets the HTTP node succeed with whatever status the proxy answers, so the IF/ELSE can branch.
 */
export interface DifyStubOptions {
  /** The app API key it accepts (Dify's are `app-...`) */
  appKey: string;
  /** The Keyvault proxy the HTTP node calls */
  proxyUrl: string;
  model?: string;
  port?: number;
  /**
   * 'http' (default): the HTTP Request node of flow (c). 'llm': an LLM node on the
   * OpenAI-API-compatible model provider holding `gatewayKey`, its system prompt's first line
   * `X-Vault-Key-Id: {{#start.vault_key_id#}}`, error handling set to Fail Branch.
   */
  node?: 'http' | 'llm';
  gatewayKey?: string;
}

/** What the HTTP node sent and got, for tests and for the curious. */
export interface HttpNodeRun {
  workflowRunId: string;
  request: { url: string; headers: Record<string, string>; body: unknown };
  statusCode: number;
  body: string;
  headers: Record<string, string>;
}

export interface DifyStub {
  url: string;
  runs: HttpNodeRun[];
  close(): Promise<void>;
}

/** The HTTP Request node as Dify's DSL stores it (the same configuration docs/dify.md shows). */
function httpNode(proxyUrl: string, model: string) {
  return {
    method: 'post',
    url: `${proxyUrl}/openai/v1/chat/completions`,
    authorization: { type: 'api-key', config: { type: 'bearer', api_key: '{{#start.vault_key#}}' } },
    headers: 'X-Dify-Workflow-Run-Id:{{#sys.workflow_run_id#}}\nX-Conversation-Id:{{#start.chat_id#}}',
    body: {
      type: 'json',
      data: [{ type: 'text', value: `{"model": "${model}", "max_tokens": 256, "messages": [{"role": "user", "content": "{{#sys.query#}}"}]}` }],
    },
  };
}

interface Conversation {
  id: string;
  user: string;
  inputs: Record<string, string>;
}

export async function startDifyStub(options: DifyStubOptions): Promise<DifyStub> {
  const node = httpNode(options.proxyUrl.replace(/\/+$/, ''), options.model ?? 'gpt-4o-mini');
  const conversations = new Map<string, Conversation>();
  const runs: HttpNodeRun[] = [];

  async function chatMessage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${options.appKey}`) {
      return difyError(res, 401, 'unauthorized', 'Access token is invalid');
    }
    const body = await readJson(req);
    if (typeof body.query !== 'string' || !body.query) return difyError(res, 400, 'invalid_param', 'query is required');
    if (typeof body.user !== 'string' || !body.user) return difyError(res, 400, 'invalid_param', 'user is required');
    if (body.response_mode !== 'blocking') return difyError(res, 400, 'invalid_param', 'this stub speaks blocking mode only');

    let conversation: Conversation | undefined;
    if (typeof body.conversation_id === 'string' && body.conversation_id) {
      conversation = conversations.get(body.conversation_id);
      if (!conversation || conversation.user !== body.user) return difyError(res, 404, 'not_found', 'Conversation Not Exists.');
    } else {
      const inputs = (body.inputs ?? {}) as Record<string, string>;
      for (const name of ['vault_key', 'chat_id']) {
        if (typeof inputs[name] !== 'string' || !inputs[name]) return difyError(res, 400, 'invalid_param', `${name} is required in input form`);
      }
      conversation = { id: randomUUID(), user: body.user, inputs };
      conversations.set(conversation.id, conversation);
    }

    const workflowRunId = randomUUID();
    const variables: Record<string, string> = {
      ...Object.fromEntries(Object.entries(conversation.inputs).map(([k, v]) => [`start.${k}`, v])),
      'sys.query': body.query,
      'sys.user_id': body.user,
      'sys.conversation_id': conversation.id,
      'sys.workflow_run_id': workflowRunId,
    };
    const run = options.node === 'llm'
      ? await runLlmNode(options.proxyUrl.replace(/\/+$/, ''), options.gatewayKey ?? '', options.model ?? 'gpt-4o-mini', variables, workflowRunId)
      : await runHttpNode(node, variables, workflowRunId);
    runs.push(run);

    const messageId = randomUUID();
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({
        event: 'message',
        task_id: randomUUID(),
        id: messageId,
        message_id: messageId,
        conversation_id: conversation.id,
        mode: 'advanced-chat',
        answer: answerFor(run),
        metadata: { usage: {} },
        created_at: Math.floor(Date.now() / 1000),
      }),
    );
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://dify').pathname;
    if (req.method === 'POST' && path === '/v1/chat-messages') {
      chatMessage(req, res).catch((err: Error) => difyError(res, 500, 'internal_server_error', err.message));
      return;
    }
    difyError(res, 404, 'not_found', 'The requested URL was not found on the server.');
  });
  await new Promise<void>((ok) => server.listen(options.port ?? 0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    runs,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** Dify's `{{#node.var#}}` substitution: plain text, no escaping. */
function render(template: string, variables: Record<string, string>): string {
  return template.replace(/\{\{#([a-zA-Z0-9_.]+)#\}\}/g, (_, name: string) => variables[name] ?? '');
}

async function runHttpNode(node: ReturnType<typeof httpNode>, variables: Record<string, string>, workflowRunId: string): Promise<HttpNodeRun> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  for (const line of render(node.headers, variables).split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  headers.Authorization = `Bearer ${render(node.authorization.config.api_key, variables)}`;
  const url = render(node.url, variables);
  // As in Dify, a query with a double quote breaks this JSON (docs/dify.md shows the Code-node way round it).
  const body: unknown = JSON.parse(render(node.body.data[0].value, variables));
  const res = await fetch(url, { method: node.method.toUpperCase(), headers, body: JSON.stringify(body) });
  return {
    workflowRunId,
    request: { url, headers, body },
    statusCode: res.status,
    body: await res.text(),
    // Dify hands the node's response headers on with lowercase names
    headers: Object.fromEntries([...res.headers].map(([k, v]) => [k.toLowerCase(), v])),
  };
}

/** The LLM node's system prompt: its first line names the run's vault key for the gateway key. */
const LLM_SYSTEM_PROMPT = 'X-Vault-Key-Id: {{#start.vault_key_id#}}\nYou are the support assistant of ACME. Answer briefly.';

/**
 * An LLM node as Dify runs it on the OpenAI-API-compatible provider: the body built as the plugin
 * builds it (streaming, `stream_options.include_usage`, `user` = Dify's own end-user id), posted
 * with the provider's one API key (the gateway key). A non-200 answer fails the node with the
 * plugin's message, `API request failed with status code N: <body>`, which the Fail Branch reads.
 */
async function runLlmNode(proxyUrl: string, gatewayKey: string, model: string, variables: Record<string, string>, workflowRunId: string): Promise<HttpNodeRun> {
  const url = `${proxyUrl}/openai/v1/chat/completions`;
  const headers = { 'Content-Type': 'application/json', 'Accept-Charset': 'utf-8', Authorization: `Bearer ${gatewayKey}` };
  const body = {
    model,
    stream: true,
    max_tokens: 256,
    stream_options: { include_usage: true },
    messages: [
      { role: 'system', content: render(LLM_SYSTEM_PROMPT, variables) },
      { role: 'user', content: variables['sys.query'] },
    ],
    user: endUserId(variables['sys.user_id']),
  };
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  let answer = text;
  if (res.status === 200) {
    answer = text
      .split('\n')
      .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
      .map((line) => (JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content ?? '')
      .join('');
  }
  return {
    workflowRunId,
    request: { url, headers, body },
    statusCode: res.status,
    body: res.status === 200 ? JSON.stringify({ choices: [{ message: { content: answer } }] }) : `API request failed with status code ${res.status}: ${text}`,
    headers: Object.fromEntries([...res.headers].map(([k, v]) => [k.toLowerCase(), v])),
  };
}

/** Dify's EndUser row id for an app API `user`: a UUID of its own, stable per user. */
const endUsers = new Map<string, string>();
function endUserId(user: string): string {
  if (!endUsers.has(user)) endUsers.set(user, randomUUID());
  return endUsers.get(user)!;
}

/** The IF/ELSE on status_code and the three Answer nodes of the Chatflow. */
function answerFor(run: HttpNodeRun): string {
  if (run.body.startsWith('API request failed')) {
    // an LLM node's Fail Branch: only its error message is left, no Retry-After
    if (run.body.includes('daily_cap_exceeded')) return "Today's budget for this assistant is used up.";
    return `The assistant is unavailable right now (HTTP ${run.statusCode}).`;
  }
  if (run.statusCode === 200) {
    const completion = JSON.parse(run.body) as { choices?: { message?: { content?: string } }[] };
    return completion.choices?.[0]?.message?.content ?? '';
  }
  if (run.statusCode === 429) {
    return `Today's budget for this assistant is used up; it resets in ${run.headers['retry-after'] ?? '?'} seconds.`;
  }
  return `The assistant is unavailable right now (HTTP ${run.statusCode}).`;
}

function difyError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ code, message, status }));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  const parsed: unknown = JSON.parse(raw || '{}');
  return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
}
