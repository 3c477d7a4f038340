import { nanosToUsdText } from '@keyvault/policy';
import type { WebhookEventType } from '@keyvault/db';

/** What an alert says about one event, for people (Slack and email), not for machines. */
export interface AlertContext {
  eventType: WebhookEventType;
  payload: Record<string, unknown>;
  tenantName: string;
  /** the vault key's label, when the key still exists and has one */
  keyLabel: string | null;
  /** KEYVAULT_PUBLIC_API_URL, when set: the alert links to the key's calls in the console */
  publicApiUrl: string | undefined;
}

export interface AlertMessage {
  /** one line: the Slack fallback text and the email subject */
  title: string;
  /** label: value lines, in order */
  facts: [string, string][];
  /** the console page of the key's calls, when the deployment's public URL is known */
  link: string | null;
}

/** USD with at least two decimals and every nano-dollar that is there: $80.25, $100.00, $0.000001. */
export function usd(nanos: string | bigint): string {
  const [whole, frac = ''] = nanosToUsdText(nanos).split('.');
  return `$${whole}.${frac.padEnd(2, '0')}`;
}

/** Spend as a share of the cap, to a tenth of a percent, rounded down (never shows 80.0% below 80%). */
export function percent(spent: string | bigint, cap: string | bigint): string {
  const c = BigInt(cap);
  if (c <= 0n) return '0%';
  const tenths = (BigInt(spent) * 1000n) / c;
  return `${tenths / 10n}.${tenths % 10n}%`;
}

export function alertMessage(a: AlertContext): AlertMessage {
  const p = a.payload;
  const keyId = String(p.vault_key_id ?? '');
  const key = a.keyLabel ? `${a.keyLabel} (${keyId})` : keyId;
  const facts: [string, string][] = [
    ['Key', key],
    ['Tenant', a.tenantName],
  ];
  let title: string;
  if (a.eventType === 'credential.cap_threshold' || a.eventType === 'credential.cap_reached') {
    // a profile's budget (issue 19): its daily or monthly cap
    const credentialId = String(p.credential_id ?? '');
    const spent = String(p.spent_nanos ?? '0');
    const cap = String(p.cap_nanos ?? '0');
    const which = p.cap === 'monthly_usd_cap' ? 'monthly' : 'daily';
    title =
      a.eventType === 'credential.cap_reached'
        ? `Keyvault: credential profile ${credentialId} reached its ${which} cap (${usd(cap)}); its keys' further calls are refused until ${String(p.period ?? '')} ends`
        : `Keyvault: credential profile ${credentialId} spent ${percent(spent, cap)} of its ${which} cap (threshold ${String(p.threshold_pct)}%)`;
    return { title, facts: [['Profile', credentialId], ['Tenant', a.tenantName], ['Spent', usd(spent)], [`${which === 'monthly' ? 'Monthly' : 'Daily'} cap`, usd(cap)], ['Period (UTC)', String(p.period ?? '')]], link: null };
  }
  if (a.eventType === 'vault_key.revoked') {
    title = `Keyvault: vault key ${a.keyLabel ?? keyId} was revoked`;
    if (p.reason) facts.push(['Reason', String(p.reason)]);
  } else {
    const spent = String(p.spent_nanos ?? '0');
    const cap = String(p.daily_usd_cap_nanos ?? '0');
    const share = percent(spent, cap);
    title =
      a.eventType === 'vault_key.cap_reached'
        ? `Keyvault: vault key ${a.keyLabel ?? keyId} reached its daily cap (${usd(cap)}); further calls today are refused`
        : `Keyvault: vault key ${a.keyLabel ?? keyId} spent ${share} of its daily cap (threshold ${String(p.threshold_pct)}%)`;
    facts.push(['Spent today', usd(spent)], ['Daily cap', usd(cap)], ['Percent of cap', share], ['Day (UTC)', String(p.day ?? '')]);
  }
  const link = a.publicApiUrl ? `${a.publicApiUrl.replace(/\/+$/, '')}/console/audit?vault_key=${encodeURIComponent(keyId)}` : null;
  return { title, facts, link };
}

/** Slack's incoming-webhook body: `text` for notifications, `blocks` for the message itself. */
export function slackBody(m: AlertMessage): string {
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(m.title)}*` } },
    { type: 'section', fields: m.facts.map(([k, v]) => ({ type: 'mrkdwn', text: `*${slackEscape(k)}*\n${slackEscape(v)}` })) },
  ];
  if (m.link) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in console' }, url: m.link }] });
  return JSON.stringify({ text: m.title, blocks });
}

/** The email: subject, a plain-text part and an HTML part saying the same. */
export function emailParts(m: AlertMessage): { subject: string; text: string; html: string } {
  const lines = m.facts.map(([k, v]) => `${k}: ${v}`);
  const text = [m.title, '', ...lines, ...(m.link ? ['', `Open in console: ${m.link}`] : [])].join('\n');
  const rows = m.facts.map(([k, v]) => `<tr><th align="left">${html(k)}</th><td>${html(v)}</td></tr>`).join('');
  const htmlPart = `<p><strong>${html(m.title)}</strong></p><table>${rows}</table>${m.link ? `<p><a href="${html(m.link)}">Open in console</a></p>` : ''}`;
  return { subject: m.title, text, html: htmlPart };
}

/** Slack's mrkdwn treats &, < and > as markup. */
function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function html(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
