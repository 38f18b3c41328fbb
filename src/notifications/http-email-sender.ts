/** An HTTP email API (Resend/Postmark style JSON: from, to, subject, text, html), bearer token from secrets. */
import type { EmailSender, OutgoingEmail } from "./email-sender.ts";

export class HttpEmailSender implements EmailSender {
  readonly channel = "http";
  private readonly url: string;
  private readonly token: string | undefined;
  private readonly from: string;
  constructor(url: string, token: string | undefined, from: string) {
    this.url = url;
    this.token = token;
    this.from = from;
  }
  async send(mail: OutgoingEmail): Promise<void> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": mail.messageId, ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ from: this.from, to: [mail.to], subject: mail.subject, text: mail.text, html: mail.html }),
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok) throw new Error(`email API answered HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }
}
