// Worker secrets are not in wrangler.jsonc, so `wrangler types` on a machine without .dev.vars
// cannot see them. They are declared here.
interface Env {
  WARDEN_JWT_SECRET: string;
  /** The tenant whose admins may change the global policy (default "platform"). */
  PLATFORM_TENANT?: string;
  /** Bearer token for the audit database (Turso / sqld with auth); empty for a local sqld. */
  AUDIT_DB_TOKEN?: string;
  /** Private Ed25519 JWK (JSON) that seals the audit trail; its public half is served at /.well-known/warden-audit-key. */
  AUDIT_SIGNING_KEY?: string;
}
