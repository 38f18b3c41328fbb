/** SMTP over cloudflare:sockets (worker-mailer): self-hosting, and MailDev locally. */
import { WorkerMailer } from "worker-mailer";
import type { EmailSender, OutgoingEmail } from "./email-sender.ts";

export class SmtpEmailSender implements EmailSender {
  readonly channel = "smtp";
  private readonly opts: { host: string; port: number; from: string; user?: string; password?: string };
  constructor(opts: { host: string; port: number; from: string; user?: string; password?: string }) {
    this.opts = opts;
  }
  async send(mail: OutgoingEmail): Promise<void> {
    const { host, port, from, user, password } = this.opts;
    await WorkerMailer.send(
      { host, port, secure: port === 465, startTls: port !== 1025 && port !== 465, ...(user && password ? { credentials: { username: user, password }, authType: ["plain", "login"] } : {}), socketTimeoutMs: 10_000, responseTimeoutMs: 10_000 },
      { from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, headers: { "Message-ID": `<${mail.messageId}>` } },
    );
  }
}
