/**
 * Redaction of audit payloads before they are written: a deep copy of a JSON value in which every
 * detected piece of personal data inside a string is replaced by `[REDACTED:<kind>]` (the rest of
 * the string is kept), JSON numbers that are card numbers (or SSNs/BSNs under such a key) are
 * replaced by the string `[REDACTED:<kind>]`, and fields named by the policy's field rules are
 * replaced whole by `[REDACTED:field]`. It reports what it did as kind + path, never the value.
 *
 * Field rules: dot-separated keys from the root of the value passed in, `[i]` for an array index,
 * `["odd key"]` for a key that is not an identifier, `*` for exactly one segment (a key or an index,
 * also `[*]`), `**` for any number of segments including none; e.g. `input.claimant.medical_history`,
 * `*.password`, `**.medical_history`, `items[0].x`, `items[*].x`. A leading `$.` is allowed.
 *
 * Pure and synchronous; the detectors are in `pii-detectors.ts`.
 */
import type { Redaction } from "./audit-entry.ts";
import { detectPii, detectPiiInNumber, type PiiSpan } from "./pii-detectors.ts";

export const PII_KINDS = ["email", "phone", "card", "iban", "ssn", "national_id", "ip"] as const;
export type PiiKindName = (typeof PII_KINDS)[number];

export interface RedactionRules {
  /** field rules: a matching field's whole value becomes `[REDACTED:field]` */
  fields?: string[];
  /** which detectors run (all of `PII_KINDS` when absent) */
  kinds?: readonly string[];
}

export const FIELD_PLACEHOLDER = "[REDACTED:field]";
export const placeholder = (kind: string) => `[REDACTED:${kind}]`;

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

const IDENT_RE = /^[A-Za-z_$][\w$]*$/;

/** A path in the redactions list: `a.b[2]["odd key"]`; the root is `$`. */
export function formatPath(segs: ReadonlyArray<string | number>): string {
  if (segs.length === 0) return "$";
  let out = "";
  for (const s of segs) {
    if (typeof s === "number") out += `[${s}]`;
    else if (IDENT_RE.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Field rules, compiled to token lists and matched as a small NFA while walking down the value
// ---------------------------------------------------------------------------------------------

type RuleToken = { t: "key"; k: string } | { t: "idx"; i: number } | { t: "any" } | { t: "deep" };

/** Parses a field rule; throws on a malformed one (so a bad policy is loud, not silently unredacted). */
export function parseFieldRule(rule: string): RuleToken[] {
  let s = rule.trim();
  if (s === "$") return [];
  if (s.startsWith("$.") || s.startsWith("$[")) s = s.slice(s[1] === "." ? 2 : 1);
  const out: RuleToken[] = [];
  let i = 0;
  let expectSegment = true;
  while (i < s.length) {
    const c = s[i];
    if (c === "[") {
      const close = s[i + 1] === '"' ? closingQuote(s, i + 1) + 1 : s.indexOf("]", i);
      if (close <= i || s[close] !== "]") throw new Error(`bad field rule ${JSON.stringify(rule)}: unclosed [`);
      const inner = s.slice(i + 1, close);
      if (inner === "*") out.push({ t: "any" });
      else if (inner === "**") out.push({ t: "deep" });
      else if (/^\d+$/.test(inner)) out.push({ t: "idx", i: +inner });
      else if (inner.startsWith('"')) out.push({ t: "key", k: JSON.parse(inner) as string });
      else throw new Error(`bad field rule ${JSON.stringify(rule)}: [${inner}]`);
      i = close + 1;
      expectSegment = false;
    } else if (c === ".") {
      if (expectSegment) throw new Error(`bad field rule ${JSON.stringify(rule)}: empty segment`);
      i++;
      expectSegment = true;
    } else {
      let j = i;
      while (j < s.length && s[j] !== "." && s[j] !== "[") j++;
      const name = s.slice(i, j);
      out.push(name === "*" ? { t: "any" } : name === "**" ? { t: "deep" } : { t: "key", k: name });
      i = j;
      expectSegment = false;
    }
  }
  if (expectSegment && s.length > 0) throw new Error(`bad field rule ${JSON.stringify(rule)}: ends with .`);
  return out;
}

function closingQuote(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

/** NFA states: `rule * 1024 + position`. */
type States = number[];
const NO_STATES: States = [];

interface Compiled {
  rules: RuleToken[][];
  start: States;
}

const ruleCache = new Map<string, Compiled>();

function compileRules(fields: readonly string[]): Compiled {
  const key = fields.join("\u0000");
  let hit = ruleCache.get(key);
  if (!hit) {
    const rules = fields.map(parseFieldRule);
    const start: States = [];
    for (let r = 0; r < rules.length; r++) addClosed(rules, start, r, 0);
    hit = { rules, start };
    if (ruleCache.size >= 256) ruleCache.clear();
    ruleCache.set(key, hit);
  }
  return hit;
}

/** Adds a state and, past every `**` it stands on, the states after it (`**` may match nothing). */
function addClosed(rules: RuleToken[][], into: States, r: number, pos: number): void {
  for (;;) {
    const code = r * 1024 + pos;
    if (!into.includes(code)) into.push(code);
    if (pos < rules[r].length && rules[r][pos].t === "deep") pos++;
    else return;
  }
}

function step(rules: RuleToken[][], states: States, seg: string | number): States {
  let next: States | null = null;
  for (const code of states) {
    const r = Math.floor(code / 1024);
    const pos = code % 1024;
    const tok = rules[r][pos];
    if (tok === undefined) continue;
    let ok: boolean;
    let to = pos + 1;
    switch (tok.t) {
      case "key":
        ok = tok.k === seg;
        break;
      case "idx":
        ok = tok.i === seg;
        break;
      case "any":
        ok = true;
        break;
      case "deep":
        ok = true;
        to = pos; // stays on `**` (its closure already holds the states after it)
        break;
    }
    if (ok) addClosed(rules, (next ??= []), r, to);
  }
  return next ?? NO_STATES;
}

function accepts(rules: RuleToken[][], states: States): boolean {
  for (const code of states) if (code % 1024 === rules[Math.floor(code / 1024)].length) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------------------------

interface Walk {
  rules: RuleToken[][];
  kinds: ReadonlySet<string> | undefined;
  segs: Array<string | number>;
  redactions: Redaction[];
}

/** Replaces each span of `text` by its placeholder. */
export function applySpans(text: string, spans: readonly PiiSpan[]): string {
  let out = "";
  let at = 0;
  for (const sp of spans) {
    out += text.slice(at, sp.start) + placeholder(sp.kind);
    at = sp.end;
  }
  return out + text.slice(at);
}

function walk(v: unknown, states: States, keyHint: string | undefined, w: Walk): unknown {
  if (typeof v === "string") {
    const spans = detectPii(v, keyHint, w.kinds);
    if (spans.length === 0) return v;
    const path = formatPath(w.segs);
    for (const sp of spans) w.redactions.push({ kind: sp.kind, path });
    return applySpans(v, spans);
  }
  if (typeof v === "number") {
    const kind = detectPiiInNumber(v, keyHint, w.kinds);
    if (kind === null) return v;
    w.redactions.push({ kind, path: formatPath(w.segs) });
    return placeholder(kind);
  }
  if (v === null || typeof v !== "object") return v;
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return walk(toJSON.call(v), states, keyHint, w);
  if (Array.isArray(v)) {
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = child(v[i], i, states, keyHint, w);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const c = child((v as Record<string, unknown>)[k], k, states, k, w);
    if (k === "__proto__") Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
    else out[k] = c;
  }
  return out;
}

function child(v: unknown, seg: string | number, states: States, keyHint: string | undefined, w: Walk): unknown {
  w.segs.push(seg);
  try {
    const next = states.length === 0 ? NO_STATES : step(w.rules, states, seg);
    if (next.length !== 0 && accepts(w.rules, next)) {
      w.redactions.push({ kind: "field", path: formatPath(w.segs) });
      return FIELD_PLACEHOLDER;
    }
    return walk(v, next, keyHint, w);
  } finally {
    w.segs.pop();
  }
}

/** Returns a redacted deep copy (the input is not modified) and the list of redactions applied (kind + path, never the value). */
export function redact(value: unknown, rules?: RedactionRules): { value: unknown; redactions: Redaction[] } {
  const compiled = rules?.fields?.length ? compileRules(rules.fields) : { rules: [], start: NO_STATES };
  const w: Walk = { rules: compiled.rules, kinds: rules?.kinds ? new Set(rules.kinds) : undefined, segs: [], redactions: [] };
  if (compiled.start.length !== 0 && accepts(compiled.rules, compiled.start)) {
    return { value: FIELD_PLACEHOLDER, redactions: [{ kind: "field", path: "$" }] };
  }
  return { value: walk(value, compiled.start, undefined, w), redactions: w.redactions };
}
