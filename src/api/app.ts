import { Hono } from "hono";
import { authenticate, type AppEnv } from "./auth-middleware.ts";
import { problem } from "./problem.ts";
import { runRoutes } from "./routes/runs.ts";
import { approvalLinkRoutes } from "./routes/approval-links.ts";
import { approvalRoutes } from "./routes/approvals.ts";
import { directoryRoutes } from "./routes/directory.ts";
import { policyRoutes } from "./routes/policies.ts";
import { hookRoutes, webhookAdminRoutes } from "./routes/webhooks.ts";
import { workflowRoutes } from "./routes/workflows.ts";
import { auditRoutes, holdRoutes, wellKnownRoutes } from "./routes/audit.ts";
import { memoryRoutes } from "./routes/memory.ts";
import { budgetRoutes } from "./routes/budgets.ts";

export const app = new Hono<AppEnv>();

app.get("/", (c) => c.json({ name: "warden", api: "/v1", health: "/healthz" }));
app.get("/healthz", (c) => c.json({ ok: true }));
app.route("/.well-known", wellKnownRoutes);
// Webhook deliveries carry a Standard Webhooks signature instead of a bearer token.
app.route("/v1/hooks", hookRoutes);
app.use("/v1/*", (c, next) => (c.req.path.startsWith("/v1/hooks/") ? next() : authenticate(c, next)));
app.route("/v1/workflows", workflowRoutes);
app.route("/v1/workflows", webhookAdminRoutes);
app.route("/v1/runs", runRoutes);
app.route("/v1/approvals", approvalRoutes);
app.route("/v1/directory", directoryRoutes);
app.route("/v1/policies", policyRoutes);
app.route("/v1/audit", auditRoutes);
app.route("/v1/holds", holdRoutes);
app.route("/v1/memory", memoryRoutes);
app.route("/v1/budgets", budgetRoutes);
// Approval links carry their own signed token instead of a bearer token.
app.route("/approvals/link", approvalLinkRoutes);
app.notFound((c) => problem(c, 404, "Not Found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
app.onError((err, c) => {
  console.error("unhandled error", err);
  return problem(c, 500, "Internal Server Error", "the server failed to handle this request; nothing was changed by the failed step");
});
