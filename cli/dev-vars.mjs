/**
 * The local `.dev.vars` file (KEY=VALUE per line, read by wrangler dev as Worker secrets).
 * Shared by the CLI (to mint tokens) and scripts/start.mjs (to create it).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Where .dev.vars is: $WARDEN_DEV_VARS, else ./.dev.vars in the working directory, else the repo root's. */
export function devVarsPath(env = process.env, cwd = process.cwd()) {
  if (env.WARDEN_DEV_VARS) return resolve(cwd, env.WARDEN_DEV_VARS);
  const local = resolve(cwd, ".dev.vars");
  if (existsSync(local)) return local;
  return resolve(REPO_ROOT, ".dev.vars");
}

/** Parses KEY=VALUE lines; blank lines and # comments are skipped; surrounding quotes are removed. */
export function parseDevVars(text) {
  const out = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) value = value.slice(1, -1);
    out[key] = value;
  }
  return out;
}

export function readDevVars(file) {
  return parseDevVars(readFileSync(file, "utf8"));
}

/** 48 characters of [A-Za-z0-9]. */
export function randomSecret(length = 48) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  while (out.length < length) {
    for (const b of randomBytes(64)) {
      if (b < 248 && out.length < length) out += alphabet[b % 62];
    }
  }
  return out;
}

/**
 * Makes sure `file` holds every key of `defaults` (a value or a function producing one); existing
 * values are kept, missing keys are appended. A WARDEN_JWT_SECRET shorter than 32 chars is an error.
 * Returns { vars, added }.
 */
export function ensureDevVars(file, defaults) {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const vars = parseDevVars(text);
  const added = [];
  let append = "";
  for (const [key, value] of Object.entries(defaults)) {
    if (vars[key]) continue;
    vars[key] = typeof value === "function" ? value() : value;
    append += `${key}=${vars[key]}\n`;
    added.push(key);
  }
  if (append) writeFileSync(file, text && !text.endsWith("\n") ? `${text}\n${append}` : text + append, { mode: 0o600 });
  if (vars.WARDEN_JWT_SECRET !== undefined && vars.WARDEN_JWT_SECRET.length < 32) {
    throw new Error(`${file}: WARDEN_JWT_SECRET must be at least 32 characters (it has ${vars.WARDEN_JWT_SECRET.length}); fix it or delete the line to have a new one generated`);
  }
  return { vars, added };
}
