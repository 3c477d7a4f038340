import type { OpenAPIV3 } from 'openapi-types';

/** Vendors with a ready-made Dify custom tool (openai_compatible profiles name their own paths). */
export const DIFY_TOOL_VENDORS = ['openai', 'anthropic', 'stripe', 'twilio', 'resend'] as const;
export type DifyToolVendor = (typeof DIFY_TOOL_VENDORS)[number];

type Schema = OpenAPIV3.SchemaObject;
type Parameter = OpenAPIV3.ParameterObject;

/*
 * Dify's schema parser (api/core/tools/utils/parser.py) reads `servers[0].url`, each operation's
 * `operationId`, `description`, inline `parameters` and the top-level `properties` of the request
 * body, and resolves a `$ref` only one level deep at the body's root. So every parameter and body
 * here is written inline, with scalar or array properties at the top level: what Dify can turn
 * into tool inputs. Responses are for people reading the schema; Dify ignores them.
 */
interface ToolOperation {
  operationId: string;
  path: string;
  summary: string;
  description: string;
  /** The `allowed_endpoints` entry a vault key needs for this operation (vendor path, no prefix). */
  allowedEndpoint: string;
  contentType: 'application/json' | 'application/x-www-form-urlencoded';
  body: Schema;
  parameters?: Parameter[];
  successStatus: '200' | '201';
}

const chatMessages: Schema = {
  type: 'array',
  description: 'The conversation so far, e.g. [{"role": "user", "content": "Hello"}].',
  items: {
    type: 'object',
    required: ['role', 'content'],
    properties: {
      role: { type: 'string', enum: ['system', 'user', 'assistant'] },
      content: { type: 'string' },
    },
  },
};

const OPERATIONS: Record<DifyToolVendor, ToolOperation> = {
  openai: {
    operationId: 'openai_chat_completions',
    path: '/openai/v1/chat/completions',
    summary: 'Create a chat completion with OpenAI',
    description:
      'Generates the next assistant message with an OpenAI chat model. Set max_tokens: Keyvault reserves the ' +
      'worst case against the daily cap before the call and settles to the usage OpenAI reports.',
    allowedEndpoint: 'POST /v1/chat/completions',
    contentType: 'application/json',
    body: {
      type: 'object',
      required: ['model', 'messages'],
      properties: {
        model: { type: 'string', description: 'Model id, e.g. gpt-4o-mini.', default: 'gpt-4o-mini' },
        messages: chatMessages,
        max_tokens: { type: 'integer', minimum: 1, description: 'Upper bound on generated tokens.', default: 512 },
        temperature: { type: 'number', minimum: 0, maximum: 2, description: 'Sampling temperature.' },
      },
    },
    successStatus: '200',
  },
  anthropic: {
    operationId: 'anthropic_messages',
    path: '/anthropic/v1/messages',
    summary: 'Create a message with Anthropic',
    description:
      'Generates the next assistant message with a Claude model. max_tokens is required by Anthropic and is ' +
      'what Keyvault reserves against the daily cap until the real usage is known.',
    allowedEndpoint: 'POST /v1/messages',
    contentType: 'application/json',
    parameters: [
      {
        name: 'anthropic-version',
        in: 'header',
        required: false,
        description: 'Anthropic API version.',
        schema: { type: 'string', default: '2023-06-01' },
      },
    ],
    body: {
      type: 'object',
      required: ['model', 'max_tokens', 'messages'],
      properties: {
        model: { type: 'string', description: 'Model id, e.g. claude-sonnet-4-5.' },
        max_tokens: { type: 'integer', minimum: 1, description: 'Upper bound on generated tokens.', default: 512 },
        system: { type: 'string', description: 'System prompt.' },
        messages: {
          ...chatMessages,
          items: {
            type: 'object',
            required: ['role', 'content'],
            properties: { role: { type: 'string', enum: ['user', 'assistant'] }, content: { type: 'string' } },
          },
        },
      },
    },
    successStatus: '200',
  },
  stripe: {
    operationId: 'stripe_create_payment_intent',
    path: '/stripe/v1/payment_intents',
    summary: 'Create a Stripe PaymentIntent',
    description:
      'Creates a PaymentIntent. The amount counts against the vault key\'s daily cap before Stripe is called; ' +
      'a call that would pass the cap is refused with 429 daily_cap_exceeded.',
    allowedEndpoint: 'POST /v1/payment_intents',
    contentType: 'application/x-www-form-urlencoded',
    body: {
      type: 'object',
      required: ['amount', 'currency'],
      properties: {
        amount: { type: 'integer', minimum: 1, description: 'Amount in the smallest currency unit (cents for USD).' },
        currency: { type: 'string', description: 'Three-letter ISO currency code, lowercase, e.g. usd.', default: 'usd' },
        description: { type: 'string', description: 'Shown in the Stripe dashboard.' },
        receipt_email: { type: 'string', description: 'Where Stripe sends the receipt.' },
      },
    },
    successStatus: '200',
  },
  twilio: {
    operationId: 'twilio_send_message',
    path: '/twilio/2010-04-01/Accounts/{AccountSid}/Messages.json',
    summary: 'Send an SMS with Twilio',
    description: 'Sends one SMS or WhatsApp message; each message counts against the vault key\'s daily cap.',
    allowedEndpoint: 'POST /2010-04-01/Accounts/*/Messages.json',
    contentType: 'application/x-www-form-urlencoded',
    parameters: [
      {
        name: 'AccountSid',
        in: 'path',
        required: true,
        description: 'Your Twilio account SID (AC...).',
        schema: { type: 'string' },
      },
    ],
    body: {
      type: 'object',
      required: ['To', 'Body'],
      properties: {
        To: { type: 'string', description: 'Recipient phone number in E.164 form, e.g. +14155550100.' },
        From: { type: 'string', description: 'A Twilio phone number of yours (or set MessagingServiceSid).' },
        MessagingServiceSid: { type: 'string', description: 'Send through this Messaging Service instead of From.' },
        Body: { type: 'string', description: 'The text of the message.' },
      },
    },
    successStatus: '201',
  },
  resend: {
    operationId: 'resend_send_email',
    path: '/resend/emails',
    summary: 'Send an email with Resend',
    description: 'Sends one email; each email counts against the vault key\'s daily cap.',
    allowedEndpoint: 'POST /emails',
    contentType: 'application/json',
    body: {
      type: 'object',
      required: ['from', 'to', 'subject'],
      properties: {
        from: { type: 'string', description: 'Sender, e.g. "Acme <support@acme.example>".' },
        to: { type: 'string', description: 'Recipient address.' },
        subject: { type: 'string' },
        html: { type: 'string', description: 'HTML body.' },
        text: { type: 'string', description: 'Plain-text body.' },
      },
    },
    successStatus: '200',
  },
};

/** Audit context the proxy records and strips; map them to Dify's system variables in a Tool node. */
const CONTEXT_HEADERS: Parameter[] = [
  {
    name: 'X-Dify-Workflow-Run-Id',
    in: 'header',
    required: false,
    description: 'Recorded in the audit row as run_id; set it to {{#sys.workflow_run_id#}}.',
    schema: { type: 'string' },
  },
  {
    name: 'X-Conversation-Id',
    in: 'header',
    required: false,
    description: 'Recorded in the audit row as conversation_id; set it to {{#sys.conversation_id#}} or your own chat id.',
    schema: { type: 'string' },
  },
];

const ERROR_SCHEMA: Schema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['type', 'code', 'message'],
      properties: {
        type: { type: 'string' },
        code: { type: 'string', description: 'e.g. daily_cap_exceeded, endpoint_not_allowed, vault_key_revoked' },
        message: { type: 'string' },
        param: { type: 'string' },
      },
    },
  },
};

const errorResponse = (description: string, headers?: OpenAPIV3.ResponseObject['headers']): OpenAPIV3.ResponseObject => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: { $ref: '#/components/schemas/KeyvaultError' } } },
});

const VENDOR_TITLES: Record<DifyToolVendor, string> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  stripe: 'Stripe',
  twilio: 'Twilio',
  resend: 'Resend',
};

/** The OpenAPI 3.0 document of a Dify custom tool that calls `vendor` through the Keyvault proxy. */
export function difyToolSchema(vendor: DifyToolVendor, proxyUrl: string): OpenAPIV3.Document {
  const op = OPERATIONS[vendor];
  const operation: OpenAPIV3.OperationObject & { 'x-keyvault-allowed-endpoint': string } = {
    operationId: op.operationId,
    summary: op.summary,
    description: `${op.description} The vault key needs "${op.allowedEndpoint}" in allowed_endpoints.`,
    'x-keyvault-allowed-endpoint': op.allowedEndpoint,
    parameters: [...(op.parameters ?? []), ...CONTEXT_HEADERS],
    requestBody: { required: true, content: { [op.contentType]: { schema: op.body } } },
    responses: {
      [op.successStatus]: { description: `The ${VENDOR_TITLES[vendor]} response, unchanged.` },
      '401': errorResponse('invalid_vault_key, vault_key_expired, vault_key_revoked or tenant_disabled'),
      '403': errorResponse('vendor_mismatch or endpoint_not_allowed'),
      '429': errorResponse('daily_cap_exceeded: this call would pass the vault key\'s daily_usd_cap', {
        'Retry-After': { description: 'Seconds until the cap resets at UTC midnight.', schema: { type: 'integer' } },
      }),
      '502': errorResponse('upstream_unreachable'),
      '504': errorResponse('upstream_timeout'),
    },
  };
  return {
    openapi: '3.0.3',
    info: {
      title: `Keyvault: ${VENDOR_TITLES[vendor]} via proxy`,
      version: '1',
      description:
        `Calls ${VENDOR_TITLES[vendor]} through the Keyvault proxy. Authenticate with a vault key (vault_key_...) ` +
        'as a Bearer token; the proxy swaps in the real provider key and enforces the key\'s daily cap and allowlist.',
    },
    servers: [{ url: proxyUrl }],
    security: [{ vault_key: [] }],
    paths: { [op.path]: { post: operation } },
    components: {
      securitySchemes: {
        vault_key: {
          type: 'http',
          scheme: 'bearer',
          description: 'A vault key issued by POST /vault/keys on the Keyvault api. Never the provider\'s own key.',
        },
      },
      schemas: { KeyvaultError: ERROR_SCHEMA },
    },
  };
}
