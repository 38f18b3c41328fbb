/**
 * Canonical JSON (RFC 8785 style): object keys sorted by code unit, no whitespace,
 * numbers and strings as JSON.stringify writes them. Two documents that mean the same
 * thing serialize to the same bytes, so their SHA-256 is a content address.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("canonical JSON cannot hold NaN or Infinity");
    return JSON.stringify(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    // index by index, so a hole in a sparse array reads as null, as an undefined element does (map would skip it)
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) parts.push(canonicalJson(value[i] === undefined ? null : value[i]));
    return `[${parts.join(",")}]`;
  }
  if (typeof value === "object") {
    const entries = Object.keys(value as Record<string, unknown>)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
}

/**
 * Whether `canonicalJson(a) === canonicalJson(b)`, without building either string: it stops at
 * the first difference and allocates nothing. Replay compares every recorded decision with the
 * one it re-derives this way. For values canonical JSON can hold (what JSON.parse returns, plus
 * `undefined` properties, which read as absent, and `undefined` elements or holes, which read as
 * null), the answer is exactly that equality. On anything else (NaN, a bigint, a function) it
 * may answer where canonicalJson throws: a non-finite number it reaches throws, as there, but
 * one past the first difference is never looked at.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (typeof a === "number" || typeof b === "number") {
    if ((typeof a === "number" && !Number.isFinite(a)) || (typeof b === "number" && !Number.isFinite(b))) throw new TypeError("canonical JSON cannot hold NaN or Infinity");
    return a === b; // distinct doubles print differently, and 0 and -0 both print 0
  }
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] === undefined ? null : a[i], b[i] === undefined ? null : b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k of Object.keys(x)) {
    if (x[k] === undefined) continue;
    n++;
    if (y[k] === undefined || !Object.hasOwn(y, k) || !jsonEqual(x[k], y[k])) return false;
  }
  for (const k of Object.keys(y)) if (y[k] !== undefined) n--;
  return n === 0;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function contentHash(value: unknown): Promise<string> {
  return `sha256:${await sha256Hex(canonicalJson(value))}`;
}
