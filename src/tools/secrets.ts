/** Secrets come from Worker secrets (env), never from workflow files or events. */
import { CallFailure } from "../engine/call-failure.ts";
import { placeholders, renderString } from "../engine/template.ts";

export type SecretSource = Record<string, unknown>;

export function secretNames(template: string): string[] {
  return placeholders(template)
    .filter((p) => p.startsWith("secrets."))
    .map((p) => p.slice("secrets.".length));
}

/** A Worker secret by name; a missing one is a precise, non-retryable error (nothing is sent). */
export function requireSecret(env: SecretSource, name: string): string {
  const value = env[name];
  if (typeof value !== "string" || !value) throw new CallFailure(`secret ${name} is not set (add it with \`wrangler secret put ${name}\` or in .dev.vars)`, { retryable: false });
  return value;
}

/** Renders a header value, resolving {{secrets.NAME}} from env; a missing secret is a precise error. */
export function renderWithSecrets(template: string, scope: Record<string, unknown>, env: SecretSource): string {
  const secrets: Record<string, string> = {};
  for (const name of secretNames(template)) secrets[name] = requireSecret(env, name);
  const out = renderString(template, { ...scope, secrets });
  return typeof out === "string" ? out : JSON.stringify(out);
}
