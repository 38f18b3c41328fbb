/**
 * Email senders behind one interface: SMTP over cloudflare:sockets (self-hosting; MailDev
 * locally), the Cloudflare `send_email` binding, and an HTTP email API. Chosen by
 * EMAIL_TRANSPORT; a failure throws and the outbox retries the message.
 */
export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per outbox message, so a receiver or a human can see a redelivery. */
  messageId: string;
}

export interface EmailSender {
  readonly channel: string;
  send(mail: OutgoingEmail): Promise<void>;
}

export interface EmailEnv {
  EMAIL_TRANSPORT?: string;
  EMAIL_FROM?: string;
  SMTP_HOST?: string;
  SMTP_PORT?: string;
  SMTP_USER?: string;
  SMTP_PASSWORD?: string;
  EMAIL_HTTP_URL?: string;
  EMAIL_HTTP_TOKEN?: string;
  EMAIL?: { send(message: unknown): Promise<void> };
}

export async function emailSenderFor(env: EmailEnv): Promise<EmailSender> {
  const from = env.EMAIL_FROM || "warden@localhost";
  switch (env.EMAIL_TRANSPORT || "smtp") {
    case "smtp": {
      const { SmtpEmailSender } = await import("./smtp-email-sender.ts");
      return new SmtpEmailSender({ host: env.SMTP_HOST || "127.0.0.1", port: Number(env.SMTP_PORT || 1025), from, user: env.SMTP_USER, password: env.SMTP_PASSWORD });
    }
    case "cloudflare": {
      const { CloudflareEmailSender } = await import("./cloudflare-email-sender.ts");
      if (!env.EMAIL) throw new Error('EMAIL_TRANSPORT is "cloudflare" but no send_email binding named EMAIL is configured');
      return new CloudflareEmailSender(env.EMAIL, from);
    }
    case "http": {
      const { HttpEmailSender } = await import("./http-email-sender.ts");
      if (!env.EMAIL_HTTP_URL) throw new Error('EMAIL_TRANSPORT is "http" but EMAIL_HTTP_URL is not set');
      return new HttpEmailSender(env.EMAIL_HTTP_URL, env.EMAIL_HTTP_TOKEN, from);
    }
    default:
      throw new Error(`EMAIL_TRANSPORT "${env.EMAIL_TRANSPORT}" is not one of smtp, cloudflare, http`);
  }
}
