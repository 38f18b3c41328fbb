/**
 * Reads an audit export (JSONL, one `ExportLine` per line: entries, seals, purge records and the
 * signing key) into what the verifier takes. A line that is not JSON or not a well-formed export
 * line becomes an error naming its line number; the other lines are still read.
 *
 * `parseExport` keeps whole entries (for small exports and tests). `readExportFile` (Node only)
 * streams a file of any size and keeps only each entry's digest (see verify.ts); on a large file
 * it splits the work over worker threads, each reading its own byte range of the file.
 */
import type { JWK } from "jose";
import type { AuditEntry } from "./audit-entry.ts";
import type { PurgeRecord, SealRecord } from "./audit-rows.ts";
import { createHash } from "node:crypto";
import { ENTRY_LINE_HEAD } from "./audit-rows.ts";
import { digestEntry, type EntryDigest } from "./verify.ts";

export interface LineError {
  line: number;
  message: string;
}

export interface ParsedExport {
  entries: AuditEntry[];
  seals: SealRecord[];
  purges: PurgeRecord[];
  /** keys found in the export itself (`{"kind":"key","jwk":…}`): not a trusted source on their own */
  keys: JWK[];
  errors: LineError[];
  lines: number;
}

export interface DigestedExport extends Omit<ParsedExport, "entries"> {
  digests: EntryDigest[];
}

type Parsed = { kind: "entry"; value: AuditEntry } | { kind: "seal"; value: SealRecord } | { kind: "purge"; value: PurgeRecord } | { kind: "key"; value: JWK } | { kind: "error"; message: string };

const isStr = (v: unknown): v is string => typeof v === "string";
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isSeq = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 1;

function need(o: Record<string, unknown>, what: string, fields: Array<[string, (v: unknown) => boolean, string]>): string | null {
  for (const [f, ok, desc] of fields) if (!ok(o[f])) return `${what} has no valid ${f} (${desc}; got ${o[f] === undefined ? "nothing" : JSON.stringify(o[f]).slice(0, 60)})`;
  return null;
}

const STR = "a string";
const SEQ = "a positive integer";
const NUM = "a number";

/** One line of an export; `line` is its 1-based number, for messages. */
export function parseExportLine(text: string): Parsed {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { kind: "error", message: `not valid JSON: ${(err as Error).message}` };
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return { kind: "error", message: "not a JSON object" };
  const o = raw as Record<string, unknown>;
  switch (o.kind) {
    case "entry": {
      const bad = need(o, "entry", [
        ["stream", isStr, STR],
        ["seq", isSeq, SEQ],
        ["id", isStr, STR],
        ["prevHash", isStr, STR],
        ["hash", isStr, STR],
      ]);
      return bad ? { kind: "error", message: bad } : { kind: "entry", value: o as unknown as AuditEntry };
    }
    case "seal": {
      const bad = need(o, "seal", [
        ["id", isStr, STR],
        ["tenant", isStr, STR],
        ["stream", isStr, STR],
        ["seq", isSeq, SEQ],
        ["hash", isStr, STR],
        ["sealedAt", isNum, NUM],
        ["kid", isStr, STR],
        ["jws", isStr, STR],
      ]);
      if (bad) return { kind: "error", message: bad };
      const { kind: _k, ...s } = o;
      return { kind: "seal", value: s as unknown as SealRecord };
    }
    case "purge": {
      const bad = need(o, "purge record", [
        ["id", isStr, STR],
        ["tenant", isStr, STR],
        ["stream", isStr, STR],
        ["fromSeq", isSeq, SEQ],
        ["toSeq", isSeq, SEQ],
        ["count", isSeq, SEQ],
        ["lastHash", isStr, STR],
        ["purgedAt", isNum, NUM],
        ["kid", isStr, STR],
        ["jws", isStr, STR],
      ]);
      if (bad) return { kind: "error", message: bad };
      const { kind: _k, ...p } = o;
      return { kind: "purge", value: p as unknown as PurgeRecord };
    }
    case "key": {
      const jwk = o.jwk as Record<string, unknown> | undefined;
      if (!jwk || typeof jwk !== "object" || !isStr(jwk.kty)) return { kind: "error", message: "key line has no jwk (a JSON Web Key with kty)" };
      return { kind: "key", value: jwk as JWK };
    }
    default:
      return { kind: "error", message: `unknown kind ${JSON.stringify(o.kind)} (expected entry, seal, purge or key)` };
  }
}

const BODY_AT = ENTRY_LINE_HEAD.length + 64 + 2; // past the hash's closing quote and comma
const SUFFIX_KEYS = ["policyHash", "prevHash", "redactions", "retainUntil", "runId", "seq", "stream", "tenant", "type", "workflow"];

/** `text` parsed as an object with exactly `keys`, in that order; else null. */
function objectWithKeys(text: string, keys: string[]): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const got = Object.keys(o);
  if (got.length !== keys.length || got.some((k, i) => k !== keys[i])) return null;
  return o;
}

const HEAD_BYTES = Buffer.from(ENTRY_LINE_HEAD);
const OPEN_BRACE = Buffer.from("{");
const QUOTE = 34;
const COMMA = 44;
const CLOSE_BRACE = 125;

/**
 * The fast path for an entry line as the export writes it: `{"kind":"entry","hash":H,` followed
 * by the rest of the entry's canonical JSON — exactly the bytes H was computed over. The body is
 * hashed as it stands in the file, without decoding or parsing it; then only its small tail
 * (policyHash … workflow) is parsed, accepted only as an object with exactly those keys (a key
 * found inside the payload would leave a brace unbalanced), and the id must read
 * `${stream}/${seq}` just before the payload. Anything else (another layout, a hash that does
 * not match, an odd field, a wrong id) returns null and the line takes the full path, which says
 * precisely what is wrong. The bytes are `buf[start, end)`, without the newline.
 */
export function fastEntryDigestBytes(buf: Buffer, start: number, end: number): EntryDigest | null {
  const bodyAt = start + BODY_AT;
  if (end - bodyAt < 2 || buf[bodyAt - 2] !== QUOTE || buf[bodyAt - 1] !== COMMA || buf[end - 1] !== CLOSE_BRACE) return null;
  if (buf.compare(HEAD_BYTES, 0, HEAD_BYTES.length, start, start + HEAD_BYTES.length) !== 0) return null;
  const hash = buf.toString("latin1", start + HEAD_BYTES.length, bodyAt - 2);
  if (createHash("sha256").update(OPEN_BRACE).update(buf.subarray(bodyAt, end)).digest("hex") !== hash) return null;
  const tailAt = buf.lastIndexOf(',"policyHash":', end - 1);
  if (tailAt <= bodyAt) return null;
  const tail = objectWithKeys(`{${buf.toString("utf8", tailAt + 1, end)}`, SUFFIX_KEYS);
  if (!tail) return null;
  const { stream, seq, prevHash } = tail;
  if (!isStr(stream) || !isSeq(seq) || !isStr(prevHash)) return null;
  // the payload runs from the id to the tail; an id other than `${stream}/${seq}` takes the full path, which names it
  const idMember = `,"id":${JSON.stringify(`${stream}/${seq}`)},"payload":`;
  const payloadAt = buf.indexOf(idMember, bodyAt);
  if (payloadAt < 0 || payloadAt + Buffer.byteLength(idMember) > tailAt) return null;
  return { stream, seq, prevHash, hash, ok: true };
}

/** `fastEntryDigestBytes` for a line held as text. */
export function fastEntryDigest(text: string): EntryDigest | null {
  const buf = Buffer.from(text);
  return fastEntryDigestBytes(buf, 0, buf.length);
}

/** Collects lines as they come; `digest` keeps entry digests instead of whole entries. */
class Collector {
  readonly out: DigestedExport & { entries: AuditEntry[] } = { entries: [], digests: [], seals: [], purges: [], keys: [], errors: [], lines: 0 };
  private readonly digest: boolean;

  constructor(digest: boolean) {
    this.digest = digest;
  }

  /** One line of a file, as bytes `buf[start, end)` without its newline (digesting collectors try the fast path first). */
  lineBytes(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === 13) end--;
    if (this.digest) {
      const fast = fastEntryDigestBytes(buf, start, end);
      if (fast) {
        this.out.lines++;
        this.out.digests.push(fast);
        return;
      }
    }
    this.line(buf.toString("utf8", start, end));
  }

  line(raw: string): void {
    const n = ++this.out.lines;
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!text.trim()) return;
    const r = parseExportLine(text);
    switch (r.kind) {
      case "entry":
        if (this.digest) this.out.digests.push(digestEntry(r.value));
        else this.out.entries.push(r.value);
        return;
      case "seal":
        this.out.seals.push(r.value);
        return;
      case "purge":
        this.out.purges.push(r.value);
        return;
      case "key":
        this.out.keys.push(r.value);
        return;
      case "error":
        this.out.errors.push({ line: n, message: r.message });
    }
  }
}

/** Parses a whole export held as text. */
export function parseExport(text: string): ParsedExport {
  const c = new Collector(false);
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (const l of lines) c.line(l);
  const { digests: _d, ...out } = c.out;
  return out;
}

// ---------------------------------------------------------------- files (Node)

const CHUNK = 8 << 20;

/** Reads bytes [start, end) of a file line by line into a digesting collector. */
async function digestRange(path: string, start: number, end: number): Promise<DigestedExport> {
  const { openSync, readSync, closeSync } = await import("node:fs");
  const c = new Collector(true);
  const fd = openSync(path, "r");
  try {
    let buf = Buffer.allocUnsafe(CHUNK);
    let have = 0; // bytes of an unfinished line carried at the start of buf
    for (let pos = start; pos < end; ) {
      if (have === buf.length) {
        // a line longer than the buffer: grow it
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const n = readSync(fd, buf, have, Math.min(buf.length - have, end - pos), pos);
      if (n <= 0) break;
      pos += n;
      const filled = have + n;
      let from = 0;
      for (let nl = buf.indexOf(10, from); nl >= 0 && nl < filled; nl = buf.indexOf(10, from)) {
        c.lineBytes(buf, from, nl);
        from = nl + 1;
      }
      buf.copy(buf, 0, from, filled);
      have = filled - from;
    }
    if (have) c.lineBytes(buf, 0, have);
  } finally {
    closeSync(fd);
  }
  const { entries: _e, ...out } = c.out;
  return out;
}

/** The offset just after the first newline at or after `pos` (or the file's size). */
async function lineStartAfter(path: string, pos: number, size: number): Promise<number> {
  const { openSync, readSync, closeSync } = await import("node:fs");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 16);
    for (let at = pos; at < size; at += buf.length) {
      const n = readSync(fd, buf, 0, buf.length, at);
      const i = buf.indexOf(10);
      if (i >= 0 && i < n) return at + i + 1;
      if (n <= 0) break;
    }
    return size;
  } finally {
    closeSync(fd);
  }
}

const WORKER = `const { workerData, parentPort } = require("node:worker_threads");
import(workerData.module).then((m) => m.digestExportRange(workerData.path, workerData.start, workerData.end)).then((r) => parentPort.postMessage({ ok: r }), (e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));`;

/** Entry point of a worker thread of `readExportFile`. */
export function digestExportRange(path: string, start: number, end: number): Promise<DigestedExport> {
  return digestRange(path, start, end);
}

/**
 * Reads an export file, keeping entry digests. Files over 16 MB are split over `threads` worker
 * threads (default: the number of CPUs, at most 4); line numbers in errors are the file's.
 */
export async function readExportFile(path: string, opts: { threads?: number } = {}): Promise<DigestedExport> {
  const { statSync } = await import("node:fs");
  const { availableParallelism } = await import("node:os");
  const size = statSync(path).size;
  const threads = Math.max(1, Math.min(opts.threads ?? (size > 16 << 20 ? Math.min(availableParallelism(), 4) : 1), Math.ceil(size / (1 << 20)) || 1));
  if (threads === 1) return digestRange(path, 0, size);

  const bounds = [0];
  for (let i = 1; i < threads; i++) bounds.push(Math.max(bounds[i - 1], await lineStartAfter(path, Math.floor((size * i) / threads), size)));
  bounds.push(size);
  const { Worker } = await import("node:worker_threads");
  const parts = await Promise.all(
    bounds.slice(0, -1).map(
      (start, i) =>
        new Promise<DigestedExport>((done, fail) => {
          const w = new Worker(WORKER, { eval: true, workerData: { module: import.meta.url, path, start, end: bounds[i + 1] } });
          w.once("message", (m: { ok?: DigestedExport; error?: string }) => {
            void w.terminate();
            if (m.ok) done(m.ok);
            else fail(new Error(`export reader thread failed: ${m.error}`));
          });
          w.once("error", fail);
        }),
    ),
  );
  const out: DigestedExport = { digests: [], seals: [], purges: [], keys: [], errors: [], lines: 0 };
  for (const p of parts) {
    for (const d of p.digests) out.digests.push(d);
    out.seals.push(...p.seals);
    out.purges.push(...p.purges);
    out.keys.push(...p.keys);
    for (const e of p.errors) out.errors.push({ line: e.line + out.lines, message: e.message });
    out.lines += p.lines;
  }
  return out;
}
