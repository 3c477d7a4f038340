import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';

/** Vendors the proxy speaks; `openai_compatible` profiles name their own base_url. */
export const VENDORS = ['openai', 'anthropic', 'stripe', 'twilio', 'resend', 'openai_compatible'] as const;
export type Vendor = (typeof VENDORS)[number];

const masterKey = z
  .string()
  .refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, {
    message: 'must be 32 bytes encoded as base64 (openssl rand -base64 32)',
  });

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const httpUrl = z.url({ protocol: /^https?$/ });
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/ });

const common = {
  DATABASE_URL: postgresUrl,
  KEYVAULT_MASTER_KEY: masterKey,
  /** Former master keys, comma-separated, still accepted while `rotate-master-key` re-wraps. */
  KEYVAULT_PREVIOUS_MASTER_KEYS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(masterKey)),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Appends the JSON log lines to this file instead of writing them to stdout. */
  LOG_FILE: z.string().min(1).optional(),
  KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: bool,
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** failed authentications per client address per minute before it is refused (429) for 5 minutes */
  KEYVAULT_FAILED_AUTH_LIMIT: z.coerce.number().int().min(1).max(100_000).default(30),
  /**
   * Reverse proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For names the
   * client; empty: the client is the TCP peer and X-Forwarded-For is ignored.
   */
  KEYVAULT_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine(isAddressOrRange, { message: 'must list IP addresses or CIDR ranges, comma-separated (10.0.0.0/8, ::1)' }))),
};

function isAddressOrRange(entry: string): boolean {
  const [ip, prefix, extra] = entry.split('/');
  const family = isIP(ip);
  if (!family || extra !== undefined) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

const apiSchema = z.object({
  ...common,
  API_PORT: port(3000),
  /**
   * Processes serving the api on its one port (node:cluster): a whole number, or `auto` for one
   * per CPU. Each has its own DATABASE_POOL_SIZE connections; 1 runs without a cluster primary.
   */
  API_WORKERS: z
    .string()
    .default('1')
    .refine((v) => v === 'auto' || (/^\d{1,2}$/.test(v) && Number(v) >= 1 && Number(v) <= 64), {
      message: 'must be a whole number from 1 to 64, or auto',
    })
    .transform((v) => (v === 'auto' ? Math.min(64, availableParallelism()) : Number(v))),
  KEYVAULT_ADMIN_TOKEN: z.string().min(32, { message: 'must be at least 32 characters' }),
  /**
   * The role the api's connections switch to once migrations have run as the login (docs/database-roles.md):
   * it owns nothing, and row-level security confines it to the tenant a transaction names (withTenant).
   * Empty: serve as the login as it is (a deployment whose api logs in as such a role).
   */
  KEYVAULT_API_DB_ROLE: z.string().regex(/^([a-z_][a-z0-9_]*)?$/, { message: 'must be a plain role name, or empty' }).default('keyvault_api'),
  KEYVAULT_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** How often the retention task prunes audit rows and finished webhook deliveries. */
  KEYVAULT_AUDIT_PRUNE_INTERVAL_MS: z.coerce.number().int().min(10).max(86_400_000).default(3_600_000),
  /** How often the webhook worker looks for due deliveries when it found none. */
  KEYVAULT_WEBHOOK_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** First retry delay; each further retry doubles it (full jitter, capped at one hour). */
  KEYVAULT_WEBHOOK_BACKOFF_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(5000),
  /** A delivery still failing this long after its event is given up (status failed). */
  KEYVAULT_WEBHOOK_MAX_AGE_MS: z.coerce.number().int().min(1000).max(30 * 86_400_000).default(86_400_000),
  /** ... or after this many attempts, whichever comes first. */
  KEYVAULT_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(25),
  /** Timeout of one delivery attempt, DNS included; a claimed delivery is leased for twice this. */
  KEYVAULT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  KEYVAULT_PUBLIC_PROXY_URL: httpUrl.optional(),
  /** Where people reach this api (and its console): alerts link to it. */
  KEYVAULT_PUBLIC_API_URL: httpUrl.optional(),
  /** SMTP server for email webhooks (smtp:// or smtps://, credentials in the URL); unset: no email webhooks. */
  KEYVAULT_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  /** The From of alert emails. */
  KEYVAULT_SMTP_FROM: z.string().min(3).default('Keyvault <keyvault@localhost>'),
});

const proxySchema = z.object({
  ...common,
  PROXY_PORT: port(8080),
  KEYVAULT_UPSTREAM_OPENAI: httpUrl.default('https://api.openai.com'),
  KEYVAULT_UPSTREAM_ANTHROPIC: httpUrl.default('https://api.anthropic.com'),
  KEYVAULT_UPSTREAM_STRIPE: httpUrl.default('https://api.stripe.com'),
  KEYVAULT_UPSTREAM_TWILIO: httpUrl.default('https://api.twilio.com'),
  KEYVAULT_UPSTREAM_RESEND: httpUrl.default('https://api.resend.com'),
  KEYVAULT_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(10 * 1024 * 1024),
  /** Time to the response headers of a non-LLM vendor (Stripe, Twilio, Resend), and the bound on connecting to any upstream. */
  KEYVAULT_UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(120_000),
  /** Time to the response headers of an LLM vendor (a non-streamed completion answers only once it is generated). */
  KEYVAULT_UPSTREAM_LLM_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(600_000),
  /** Longest silence between two chunks of a response body; a body that keeps arriving is never cut (no total timeout). */
  KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(120_000),
  /** Upstream connections per origin; empty: no limit (one connection per call in flight, no hidden queue). */
  KEYVAULT_UPSTREAM_MAX_CONNECTIONS: z
    .string()
    .default('')
    .refine((v) => v === '' || (/^\d{1,7}$/.test(v) && Number(v) >= 1), { message: 'must be a whole number of at least 1, or empty for no limit' })
    .transform((v) => (v === '' ? null : Number(v))),
  /** How long a call past KEYVAULT_UPSTREAM_MAX_CONNECTIONS waits for a connection before 503 upstream_busy. */
  KEYVAULT_UPSTREAM_QUEUE_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(0),
  /** Offer HTTP/2 to TLS upstreams (ALPN); many calls then share one connection. HTTP/1.1 when off or not offered. */
  KEYVAULT_UPSTREAM_HTTP2: bool,
  /** A PEM file of certificates trusted for upstream TLS in addition to the system's (a private CA, tests). */
  KEYVAULT_UPSTREAM_CA_FILE: z.string().optional().transform((v) => v || undefined),
  /** Optional JSON file whose entries replace those of the shipped price list. */
  KEYVAULT_PRICES_FILE: z.string().optional(),
  /** Names this proxy instance's budget leases; a restart under the same id reconciles what it left (unique per live instance). */
  KEYVAULT_INSTANCE_ID: z.string().max(200).optional().transform((v) => v || undefined),
  /** A budget lease its holder stopped renewing this long ago is reconciled (as fully spent) by any instance. */
  KEYVAULT_LEASE_TTL_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
  /** A captured request or response body (vault keys with capture: bodies) is cut at this many bytes. */
  KEYVAULT_CAPTURE_MAX_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
  /** For the benchmark's side-by-side run only: forward calls without writing their record first (docs/budget-leases.md). */
  KEYVAULT_BENCH_NO_CALL_RECORD: bool,
  /**
   * Tests only: shifts the clock the proxy books budget periods by (UTC day, calendar month), so
   * a test can run one instance in the last hours of a month and another in the next. Never set
   * it in a deployment: two instances on different clocks book one period's spend in two.
   */
  KEYVAULT_TEST_CLOCK_OFFSET_MS: z.coerce.number().int().default(0),
  /**
   * The role every proxy connection switches to (migration ProxyRole: read keys and credentials,
   * write spend and audit, nothing else). Empty: connect as the login as it is (a deployment whose
   * proxy logs in as a role with those grants).
   */
  KEYVAULT_PROXY_DB_ROLE: z.string().regex(/^([a-z_][a-z0-9_]*)?$/, { message: 'must be a plain role name, or empty' }).default('keyvault_proxy'),
  /** How durable a call's record is before the call is forwarded (docs/budget-leases.md): `off` survives the proxy dying or Postgres restarting, `on` also both at once. */
  KEYVAULT_CALL_RECORD_SYNCHRONOUS_COMMIT: z.enum(['off', 'local', 'on', 'remote_write', 'remote_apply']).default('off'),
});

export type ApiConfig = z.infer<typeof apiSchema>;
export type ProxyConfig = z.infer<typeof proxySchema>;

/** A setting that is missing or malformed; the message is one line naming it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function parse<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv): T {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const setting = String(issue.path[0] ?? 'configuration');
  const missing = issue.code === 'invalid_type' && env[setting] === undefined;
  throw new ConfigError(
    missing ? `Invalid configuration: ${setting} is required` : `Invalid configuration: ${setting} ${issue.message}`,
  );
}

export const loadApiConfig = (env: NodeJS.ProcessEnv = process.env): ApiConfig => parse(apiSchema, env);
export const loadProxyConfig = (env: NodeJS.ProcessEnv = process.env): ProxyConfig => parse(proxySchema, env);

/** The base URL for a vendor across the deployment (KEYVAULT_UPSTREAM_<VENDOR>). */
export function upstreamFor(config: ProxyConfig, vendor: Exclude<Vendor, 'openai_compatible'>): string {
  const key = `KEYVAULT_UPSTREAM_${vendor.toUpperCase()}` as keyof ProxyConfig;
  return String(config[key]).replace(/\/+$/, '');
}
