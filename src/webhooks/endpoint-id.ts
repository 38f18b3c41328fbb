/**
 * Hook URLs carry no bearer token, so the tenant must come from the URL. The endpoint id in
 * `POST /v1/hooks/:endpoint` is opaque to senders: `wh_` + base64url("<tenant>/<workflowId>").
 * It is not a secret (the signature authenticates); it just routes to the tenant's registry.
 */
import { z } from "zod";

const tenant = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/);
const workflowId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/);
const PREFIX = "wh_";

function toBase64Url(text: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function endpointId(t: string, wf: string): string {
  return PREFIX + toBase64Url(`${t}/${wf}`);
}

export function parseEndpointId(id: string): { tenant: string; workflowId: string } | null {
  if (!id.startsWith(PREFIX) || id.length > 200 || !/^[A-Za-z0-9_-]+$/.test(id.slice(PREFIX.length))) return null;
  let text: string;
  try {
    text = atob(id.slice(PREFIX.length).replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  const slash = text.indexOf("/");
  if (slash < 0) return null;
  const t = tenant.safeParse(text.slice(0, slash));
  const wf = workflowId.safeParse(text.slice(slash + 1));
  if (!t.success || !wf.success || endpointId(t.data, wf.data) !== id) return null; // canonical form only
  return { tenant: t.data, workflowId: wf.data };
}
