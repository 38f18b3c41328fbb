import { defineConfig } from "drizzle-kit";

/** The audit database (libSQL). `npm run db:generate` writes SQL migrations from src/audit/audit-schema.ts. */
export default defineConfig({
  dialect: "turso",
  schema: "./src/audit/audit-schema.ts",
  out: "./migrations",
});
