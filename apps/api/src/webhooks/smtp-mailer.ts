import { createTransport } from 'nodemailer';

export interface MailResult {
  /** the SMTP reply code to the message (250 when accepted) */
  code: number | null;
  /** the server's reply line */
  response: string;
}

/** An SMTP reply that refused the message, with the server's code and words for the history. */
export class SmtpError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly response: string | null,
  ) {
    super(message);
  }
}

/**
 * Sends alert emails through the deployment's SMTP server (KEYVAULT_SMTP_URL). One connection
 * per message: alerts are few, and a pooled connection that went stale would fail a delivery.
 * The server is the operator's own, set in the deployment, so no public-address rule applies.
 */
export class SmtpMailer {
  private readonly transport: ReturnType<typeof createTransport>;

  constructor(
    smtpUrl: string,
    private readonly from: string,
    timeoutMs: number,
  ) {
    this.transport = createTransport({ url: smtpUrl, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
  }

  async send(to: string[], mail: { subject: string; text: string; html: string }, headers: Record<string, string>): Promise<MailResult> {
    try {
      const info = await this.transport.sendMail({ from: this.from, to, subject: mail.subject, text: mail.text, html: mail.html, headers });
      const response = String(info.response ?? '');
      const code = /^\d{3}/.test(response) ? Number(response.slice(0, 3)) : null;
      return { code, response };
    } catch (err) {
      const e = err as { message?: string; responseCode?: number; response?: string };
      throw new SmtpError(e.message || 'smtp send failed', e.responseCode ?? null, e.response ?? null);
    }
  }

  close(): void {
    this.transport.close();
  }
}
