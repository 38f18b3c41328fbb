/** A minimal multipart/alternative MIME message (text + HTML), base64 bodies. Pure. */
import type { OutgoingEmail } from "./email-sender.ts";

function b64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/.{76}/g, "$&\r\n");
}

function encodeHeader(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${b64(text).replace(/\r\n/g, "")}?=`;
}

export function mimeMessage(from: string, mail: OutgoingEmail, date = new Date()): string {
  const boundary = `warden-${mail.messageId.replace(/[^A-Za-z0-9]/g, "").slice(0, 40)}`;
  return [
    `From: ${from}`,
    `To: ${mail.to}`,
    `Subject: ${encodeHeader(mail.subject)}`,
    `Message-ID: <${mail.messageId}>`,
    `Date: ${date.toUTCString()}`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    b64(mail.text),
    `--${boundary}`,
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    b64(mail.html),
    `--${boundary}--`,
    "",
  ].join("\r\n");
}
