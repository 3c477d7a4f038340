/** Dify's chat API (POST /v1/chat-messages) in blocking mode: what the backend needs of it. */
export interface DifySettings {
  /** e.g. https://api.dify.ai or http://localhost/  (the /v1 prefix is added here) */
  apiUrl: string;
  /** The Chatflow app's API key (app-...) */
  appKey: string;
}

export interface ChatMessageRequest {
  /** The Chatflow's Start-node input variables. Dify keeps the first message's inputs for the whole conversation. */
  inputs: Record<string, string>;
  query: string;
  user: string;
  /** Absent on a conversation's first message; Dify answers with the id to send next time. */
  conversationId?: string;
}

export interface ChatMessageAnswer {
  conversation_id: string;
  message_id: string;
  answer: string;
}

export class DifyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function sendChatMessage(settings: DifySettings, req: ChatMessageRequest): Promise<ChatMessageAnswer> {
  const res = await fetch(`${settings.apiUrl.replace(/\/+$/, '')}/v1/chat-messages`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${settings.appKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      inputs: req.inputs,
      query: req.query,
      user: req.user,
      response_mode: 'blocking',
      ...(req.conversationId ? { conversation_id: req.conversationId } : {}),
    }),
  });
  const json = (await res.json().catch(() => ({}))) as Partial<ChatMessageAnswer> & { code?: string; message?: string };
  if (!res.ok) throw new DifyError(res.status, json.code ?? 'unexpected_response', json.message ?? `HTTP ${res.status}`);
  return json as ChatMessageAnswer;
}
