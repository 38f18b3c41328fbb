/** The Cloudflare `send_email` binding: a raw MIME message to a verified destination. */
import { EmailMessage } from "cloudflare:email";
import type { EmailSender, OutgoingEmail } from "./email-sender.ts";
import { mimeMessage } from "./mime-message.ts";

export class CloudflareEmailSender implements EmailSender {
  readonly channel = "cloudflare";
  private readonly binding: { send(message: unknown): Promise<void> };
  private readonly from: string;
  constructor(binding: { send(message: unknown): Promise<void> }, from: string) {
    this.binding = binding;
    this.from = from;
  }
  async send(mail: OutgoingEmail): Promise<void> {
    await this.binding.send(new EmailMessage(this.from, mail.to, mimeMessage(this.from, mail)));
  }
}
