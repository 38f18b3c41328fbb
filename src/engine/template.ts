/**
 * `{{ path }}` templates over run state. A string that is exactly one placeholder keeps the
 * value's type (so `amount: "{{input.amount}}"` stays a number); placeholders inside longer
 * strings are stringified. Paths are dotted with optional [n] indexes. Pure.
 */
const PLACEHOLDER = /\{\{\s*([^{}]+?)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}]+?)\s*\}\}$/;
const PATH = /^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*|\[\d+\])*$/;

export class TemplateError extends Error {}

export function splitPath(path: string): string[] {
  if (!PATH.test(path)) throw new TemplateError(`"${path}" is not a valid template path`);
  return path.replace(/\[(\d+)\]/g, ".$1").split(".");
}

export function lookup(scope: unknown, path: string): unknown {
  let cur: unknown = scope;
  for (const key of splitPath(path)) {
    if (cur === null || typeof cur !== "object" || !(key in (cur as object))) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

function stringify(v: unknown): string {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function renderString(template: string, scope: unknown): unknown {
  const whole = WHOLE.exec(template);
  if (whole) return lookup(scope, whole[1]) ?? null;
  return template.replace(PLACEHOLDER, (_, path: string) => stringify(lookup(scope, path)));
}

/** Renders a URL template: each placeholder's value is URI-encoded into its place. */
export function renderUrl(template: string, scope: unknown): string {
  return template.replace(PLACEHOLDER, (_, path: string) => {
    const v = lookup(scope, path) ?? null;
    return encodeURIComponent(v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));
  });
}

/** Renders every string inside a JSON value. */
export function render(value: unknown, scope: unknown): unknown {
  if (typeof value === "string") return renderString(value, scope);
  if (Array.isArray(value)) return value.map((v) => render(v, scope));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, scope)]));
  }
  return value;
}
