/**
 * Every log path that can carry a secret. pino replaces them with "[REDACTED]" before the line
 * is written, so a secret cannot reach a log even when a new log call forgets about it.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.api_key',
  '*.apiKey',
  '*.vault_key',
  '*.vaultKey',
  '*.gateway_key',
  '*.gatewayKey',
  '*.key',
  '*.keys',
  '*.secret',
  '*.token',
  '*.password',
  '*.master_key',
  '*.admin_token',
];

/** Drops query values from a logged URL: tokens sometimes arrive there by mistake. */
export function urlWithoutQueryValues(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  if (q < 0) return url;
  const names = url
    .slice(q + 1)
    .split('&')
    .map((pair) => pair.split('=')[0])
    .filter(Boolean);
  return `${url.slice(0, q)}${names.length ? `?${names.map((n) => `${n}=…`).join('&')}` : ''}`;
}
