/** An error answer from the Keyvault api: the contract's `{"error": {type, code, message, param?}}`. */
export class KeyvaultApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: string,
    readonly param?: string,
    /** Set on 5xx answers: quote it to the operator, it names the api's log line. */
    readonly errorId?: string,
  ) {
    super(message);
    this.name = 'KeyvaultApiError';
  }

  static async from(response: Response, body: unknown): Promise<KeyvaultApiError> {
    const e = (body as { error?: Record<string, unknown> } | undefined)?.error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') {
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
      return new KeyvaultApiError(response.status, e.code, e.message, str(e.type) ?? 'api_error', str(e.param), str(e.error_id));
    }
    // Not Keyvault speaking (a wrong URL, a load balancer's page): say what came back.
    return new KeyvaultApiError(
      response.status,
      'unexpected_response',
      `HTTP ${response.status} from ${response.url} is not a Keyvault answer; is the api URL right?`,
      'api_error',
    );
  }
}

/** The api could not be reached at all (refused, DNS, TLS): no HTTP answer to show. */
export class KeyvaultConnectionError extends Error {
  constructor(
    readonly apiUrl: string,
    cause: unknown,
  ) {
    super(`Cannot reach the Keyvault api at ${apiUrl}: ${describeCause(cause)}`);
    this.name = 'KeyvaultConnectionError';
  }
}

function describeCause(cause: unknown): string {
  // undici's fetch wraps the socket error: "fetch failed" with the useful part in `cause`
  const inner = (cause as { cause?: { code?: string; message?: string } })?.cause;
  if (inner?.code) return inner.code;
  if (inner?.message) return inner.message;
  return cause instanceof Error ? cause.message : String(cause);
}
