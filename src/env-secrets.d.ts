// Worker secrets are not in wrangler.jsonc, so `wrangler types` on a machine without .dev.vars
// cannot see them. They are declared here.
interface Env {
  WARDEN_JWT_SECRET: string;
  /** The tenant whose admins may change the global policy (default "platform"). */
  PLATFORM_TENANT?: string;
}
