/** The tenant directory: people, their email, and their business roles (who an approval's roles mean). */
import { Hono } from "hono";
import { z } from "zod";
import { requireRole, type AppEnv } from "../auth-middleware.ts";
import { readJson } from "../body.ts";
import { registryStub } from "../stubs.ts";

export const directoryRoutes = new Hono<AppEnv>();

const directoryBody = z.strictObject({
  users: z
    .array(z.strictObject({ id: z.string().min(1).max(254), email: z.email().optional(), name: z.string().max(200).optional(), roles: z.array(z.string().min(1).max(64)).max(50).default([]) }))
    .max(10_000)
    .refine((us) => new Set(us.map((u) => u.id.toLowerCase())).size === us.length, "user ids must be unique"),
});

directoryRoutes.put("/", requireRole("admin"), async (c) => {
  const body = await readJson(c, directoryBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  return c.json(await registryStub(c.env, p.tenant).putDirectory(body.users, p.sub));
});

directoryRoutes.get("/", async (c) => c.json({ items: await registryStub(c.env, c.get("principal").tenant).directory(), next: null }));
