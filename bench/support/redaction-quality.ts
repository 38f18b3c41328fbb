/**
 * Redaction quality and speed on the labelled PII corpus (`pii-corpus.ts`): span-level recall and
 * precision per kind, and the throughput of `redact()` on the corpus' JSON payloads.
 *
 * A planted span is found when a detection of the same kind covers it; a detection that covers no
 * planted span of its kind is a false positive (near-misses that get redacted land here, and are
 * also counted per near-miss label). Detections come from the same detectors `redact()` runs, walked
 * the way `redact()` walks (the key of the nearest enclosing object field is the keyword hint); the
 * count of `redact()`'s redactions is checked against them.
 *
 * Run alone: `node bench/support/redaction-quality.ts [records] [--verbose]` (Node 22 strips the types).
 */
import { detectPii, detectPiiInNumber, type PiiSpan } from "../../src/audit/pii-detectors.ts";
import { formatPath, PII_KINDS, redact } from "../../src/audit/redaction.ts";
import { generateCorpus, type CorpusRecord } from "./pii-corpus.ts";

export interface KindQuality {
  kind: string;
  tp: number;
  fp: number;
  fn: number;
  recall: number;
  precision: number;
}

export interface QualityReport {
  recall: number;
  precision: number;
  perKind: KindQuality[];
  mbPerS: number;
  records: number;
  planted: number;
  nearMisses: number;
  /** near-misses (by label) that some detection touched */
  nearMissHits: Record<string, number>;
  /** a few misses and false positives, for reading */
  examples: { missed: string[]; falsePositives: string[] };
  bytes: number;
}

interface Detection extends PiiSpan {
  path: string;
  text: string;
}

function collect(value: unknown, segs: Array<string | number>, keyHint: string | undefined, out: Detection[]): void {
  if (typeof value === "string") {
    for (const s of detectPii(value, keyHint)) out.push({ ...s, path: formatPath(segs), text: value });
  } else if (typeof value === "number") {
    const kind = detectPiiInNumber(value, keyHint);
    if (kind) out.push({ kind, start: 0, end: String(value).length, path: formatPath(segs), text: String(value) });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      segs.push(i);
      collect(v, segs, keyHint, out);
      segs.pop();
    });
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      segs.push(k);
      collect(v, segs, k, out);
      segs.pop();
    }
  }
}

const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);

export function evaluateRedactionQuality(corpus: CorpusRecord[]): QualityReport {
  const kinds = new Map<string, { tp: number; fp: number; fn: number }>(PII_KINDS.map((k) => [k, { tp: 0, fp: 0, fn: 0 }]));
  const nearMissHits: Record<string, number> = {};
  const missed: string[] = [];
  const falsePositives: string[] = [];
  let planted = 0;
  let nearMisses = 0;
  for (const rec of corpus) {
    const found: Detection[] = [];
    collect(rec.value, [], undefined, found);
    const redacted = redact(rec.value).redactions.length;
    if (redacted !== found.length) throw new Error(`redact() reported ${redacted} redactions where the detectors found ${found.length}`);
    planted += rec.planted.length;
    nearMisses += rec.nearMisses.length;
    for (const p of rec.planted) {
      const hit = found.some((d) => d.kind === p.kind && d.path === p.path && d.start <= p.start && d.end >= p.end);
      const q = kinds.get(p.kind)!;
      if (hit) q.tp++;
      else {
        q.fn++;
        if (missed.length < 40) {
          const text = found.find((d) => d.path === p.path)?.text ?? pathText(rec.value, p.path);
          missed.push(`${p.kind} ${p.path}: ${JSON.stringify(text?.slice(p.start, p.end) ?? "?")}`);
        }
      }
    }
    for (const d of found) {
      const ok = rec.planted.some((p) => p.kind === d.kind && p.path === d.path && d.start <= p.start && d.end >= p.end);
      if (ok) continue;
      kinds.get(d.kind)!.fp++;
      const nm = rec.nearMisses.find((m) => m.path === d.path && m.start < d.end && d.start < m.end);
      const label = nm?.label ?? "(unlabelled text)";
      nearMissHits[label] = (nearMissHits[label] ?? 0) + 1;
      if (falsePositives.length < 80) falsePositives.push(`${d.kind} ${d.path} [${label}]: ${JSON.stringify(d.text.slice(d.start, d.end))} in …${JSON.stringify(d.text.slice(Math.max(0, d.start - 25), d.end + 25))}…`);
    }
  }
  const perKind: KindQuality[] = [...kinds].map(([kind, q]) => ({ kind, ...q, recall: ratio(q.tp, q.tp + q.fn), precision: ratio(q.tp, q.tp + q.fp) }));
  const tp = perKind.reduce((a, q) => a + q.tp, 0);
  const fp = perKind.reduce((a, q) => a + q.fp, 0);
  const fn = perKind.reduce((a, q) => a + q.fn, 0);
  const { mbPerS, bytes } = throughput(corpus);
  return { recall: ratio(tp, tp + fn), precision: ratio(tp, tp + fp), perKind, mbPerS, records: corpus.length, planted, nearMisses, nearMissHits, examples: { missed, falsePositives }, bytes };
}

/** The string (or number, as text) at a formatted path, for the examples (`a.b[0]["c d"]`). */
function pathText(value: unknown, path: string): string | undefined {
  let v: unknown = value;
  for (const m of path.matchAll(/\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([A-Za-z_$][\w$]*)/g)) {
    const key = m[1] !== undefined ? +m[1] : m[2] !== undefined ? (JSON.parse(m[2]) as string) : m[3];
    v = (v as Record<string | number, unknown>)?.[key];
  }
  return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
}

/** MB/s of `redact()` over the records' payloads (UTF-8 size of their JSON), best of three ≥ 200 ms runs after a warm-up. */
function throughput(corpus: CorpusRecord[]): { mbPerS: number; bytes: number } {
  const values = corpus.map((r) => r.value);
  const bytes = values.reduce<number>((a, v) => a + Buffer.byteLength(JSON.stringify(v)), 0);
  for (const v of values) redact(v);
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    let n = 0;
    const t0 = performance.now();
    let elapsed = 0;
    do {
      for (const v of values) redact(v);
      n++;
      elapsed = performance.now() - t0;
    } while (elapsed < 200);
    best = Math.min(best, elapsed / n);
  }
  return { mbPerS: bytes / 1e6 / (best / 1000), bytes };
}

/** Recall, precision (overall and per kind) and throughput on a corpus of `records` records (default 5,000: ~30,000 planted items). */
export function measureRedactionQuality(records = 5000): { recall: number; precision: number; perKind: KindQuality[]; mbPerS: number } {
  const q = evaluateRedactionQuality(generateCorpus(records));
  return { recall: q.recall, precision: q.precision, perKind: q.perKind, mbPerS: q.mbPerS };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5000);
  const q = evaluateRedactionQuality(generateCorpus(n));
  const f = (x: number) => x.toFixed(4);
  console.log(`records ${q.records}, planted PII ${q.planted}, planted near-misses ${q.nearMisses}, payload ${(q.bytes / 1e6).toFixed(2)} MB\n`);
  console.log("kind          tp      fp     fn   recall  precision");
  for (const k of q.perKind) console.log(`${k.kind.padEnd(12)} ${String(k.tp).padStart(6)} ${String(k.fp).padStart(6)} ${String(k.fn).padStart(6)}   ${f(k.recall)}   ${f(k.precision)}`);
  console.log(`${"overall".padEnd(12)} ${" ".repeat(22)}   ${f(q.recall)}   ${f(q.precision)}`);
  console.log(`\nthroughput: ${q.mbPerS.toFixed(1)} MB/s of JSON through redact()`);
  const hits = Object.entries(q.nearMissHits);
  console.log(`near-misses redacted: ${hits.length ? hits.map(([l, c]) => `${l} ×${c}`).join(", ") : "none"}`);
  if (process.argv.includes("--verbose")) {
    console.log("\nmissed:\n  " + q.examples.missed.join("\n  "));
    console.log("\nfalse positives:\n  " + q.examples.falsePositives.join("\n  "));
  }
}
