import { Hono } from "hono";
import { contentHash } from "../../engine/canonical-json.ts";
import { parseWorkflow } from "../../engine/workflow-schema.ts";
import { requireRole, type AppEnv } from "../auth-middleware.ts";
import { readText } from "../body.ts";
import { problem, problemResponse } from "../problem.ts";
import { registryStub } from "../stubs.ts";

export const workflowRoutes = new Hono<AppEnv>();

workflowRoutes.post("/", requireRole("admin"), async (c) => {
  const text = await readText(c);
  if (text instanceof Response) return text;
  if (!text.trim()) return problem(c, 422, "Unprocessable Content", "the body must be a workflow document (YAML or JSON)");
  const parsed = parseWorkflow(text);
  if (!parsed.ok) return problem(c, 422, "Invalid workflow", `the workflow document has ${parsed.errors.length} error(s); nothing was published`, parsed.errors);
  const doc = parsed.document;
  const hash = await contentHash(doc);
  const p = c.get("principal");
  const res = await registryStub(c.env, p.tenant).publish(doc, hash, p.sub);
  if (!res.ok) return problemResponse(res.problem, c.req.path);
  return c.json({ id: doc.id, version: doc.version, hash }, res.value.created ? 201 : 200);
});

workflowRoutes.get("/", async (c) => {
  const items = await registryStub(c.env, c.get("principal").tenant).listWorkflows();
  return c.json({ items, next: null });
});

workflowRoutes.get("/:id", async (c) => {
  const v = c.req.query("version");
  const version = v === undefined ? undefined : Number(v);
  if (version !== undefined && !Number.isInteger(version)) return problem(c, 400, "Bad Request", "version must be an integer");
  const wf = await registryStub(c.env, c.get("principal").tenant).workflow(c.req.param("id"), version);
  if (!wf) return problem(c, 404, "Not Found", `no workflow ${c.req.param("id")}${version ? ` version ${version}` : ""}`);
  return c.json(wf);
});
