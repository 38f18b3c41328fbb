/** `wrangler dev` on a snapshot of the Worker with its own audit database: a sqld on a free port, a fresh signing key and JWT secret. */
import { randomBytes } from "node:crypto";
import { generateSigningKeySecret } from "../../src/audit/seal.ts";
import { startSqld, type Sqld } from "../../test/support/sqld.ts";
import { freePort } from "./stats.ts";
import { startWranglerDev, type WranglerDev } from "./wrangler.ts";

export interface WorkerWithAudit {
  dev: WranglerDev;
  sqld: Sqld;
  /** the JWT secret the Worker verifies tokens with */
  secret: string;
  /** wrangler dev's inspector port (for a CPU profile of workerd) */
  inspectorPort: number;
}

/** The Worker vars that send its audit trail to `sqld`, sealed with a fresh signing key. */
export async function auditVars(sqld: Sqld, kid: string): Promise<Record<string, string>> {
  return { AUDIT_DB_URL: sqld.url, AUDIT_SIGNING_KEY: await generateSigningKeySecret(kid) };
}

/** Starts both (the caller's cleanup stops them: stopAllWranglerDev, sqld.dispose). `sqld` may be one already running. */
export async function startWorkerWithAudit(root: string, kid: string, sqld?: Sqld): Promise<WorkerWithAudit> {
  const db = sqld ?? (await startSqld());
  const port = await freePort();
  const inspectorPort = await freePort();
  const secret = randomBytes(24).toString("hex");
  const dev = await startWranglerDev({ root, port, inspectorPort, vars: { WARDEN_JWT_SECRET: secret, ...(await auditVars(db, kid)) } });
  return { dev, sqld: db, secret, inspectorPort };
}
