/** `wrangler dev` on a snapshot of the Worker with its own audit database: a sqld on a free port, a fresh signing key and JWT secret. */
import { randomBytes } from "node:crypto";
import { generateSigningKeySecret } from "../../src/audit/seal.ts";
import { startSqld, type Sqld } from "../../test/support/sqld.ts";
import { freePort } from "./stats.ts";
import { startWranglerDev, stopAllWranglerDev, type WranglerDev } from "./wrangler.ts";

export interface WorkerWithAudit {
  dev: WranglerDev;
  sqld: Sqld;
  /** the JWT secret the Worker verifies tokens with */
  secret: string;
  /** wrangler dev's inspector port (for a CPU profile of workerd) */
  inspectorPort: number;
}

const benchDatabases = new Set<Sqld>();

/** A sqld for a benchmark's audit trail; `stopBenchServers` disposes it whatever becomes of the benchmark. */
export async function startBenchSqld(): Promise<Sqld> {
  const db = await startSqld();
  benchDatabases.add(db);
  return db;
}

/** A benchmark's cleanup (also on its deadline or a signal): every wrangler dev it started, then every sqld. */
export async function stopBenchServers(): Promise<void> {
  await stopAllWranglerDev();
  for (const db of benchDatabases) await db.dispose();
  benchDatabases.clear();
}

/** The Worker vars that send its audit trail to `sqld`, sealed with a fresh signing key. */
export async function auditVars(sqld: Sqld, kid: string): Promise<Record<string, string>> {
  return { AUDIT_DB_URL: sqld.url, AUDIT_SIGNING_KEY: await generateSigningKeySecret(kid) };
}

/** Starts both (`stopBenchServers` stops them). `sqld` may be one already running; `devCollectors` turns wrangler dev's local trace collector and explorer on (see wrangler.ts). */
export async function startWorkerWithAudit(root: string, kid: string, sqld?: Sqld, opts: { devCollectors?: boolean } = {}): Promise<WorkerWithAudit> {
  const db = sqld ?? (await startBenchSqld());
  const port = await freePort();
  const inspectorPort = await freePort();
  const secret = randomBytes(24).toString("hex");
  const dev = await startWranglerDev({ root, port, inspectorPort, vars: { WARDEN_JWT_SECRET: secret, ...(await auditVars(db, kid)) }, devCollectors: opts.devCollectors });
  return { dev, sqld: db, secret, inspectorPort };
}
