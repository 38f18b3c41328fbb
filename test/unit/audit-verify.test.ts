/**
 * The audit verifier on in-memory trails: an untouched trail (random streams and payloads, with
 * seals and purges) verifies clean in any order; every kind of tampering is caught and named with
 * its stream and seq; the export reader numbers its errors by line.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { bodyOf, EMPTY_HEAD, entryHash, extendChain, type AuditEntry, type AuditRecord } from "../../src/audit/audit-entry.ts";
import { entryExportLine, type PurgeRecord, type SealRecord } from "../../src/audit/audit-rows.ts";
import { fastEntryDigest, parseExport } from "../../src/audit/export-lines.ts";
import { generateSigningKeySecret, signingKey, signPurge, signSeal, type SigningKey } from "../../src/audit/seal.ts";
import { canonicalBody, digestEntry, verifyAudit, type VerifyReport } from "../../src/audit/verify.ts";
import { canonicalJson } from "../../src/engine/canonical-json.ts";

const T0 = Date.UTC(2026, 0, 1);
let key: SigningKey;
let attacker: SigningKey;
beforeAll(async () => {
  key = await signingKey(await generateSigningKeySecret("audit-test"));
  // the attacker's key claims the same kid
  attacker = await signingKey(await generateSigningKeySecret("audit-test"));
});

interface StreamSpec {
  payloads: unknown[];
  /** seqs to seal (the head is sealed when `sealHead`) */
  sealAt: number[];
  sealHead: boolean;
  /** purged prefix, split into purge records at these ends (ascending) */
  purgeEnds: number[];
}

interface Trail {
  entries: AuditEntry[];
  seals: SealRecord[];
  purges: PurgeRecord[];
  /** every entry as written, purged ones included */
  chains: Map<string, AuditEntry[]>;
}

function record(stream: string, i: number, payload: unknown): AuditRecord {
  return {
    tenant: "acme",
    stream,
    at: T0 + i * 1000,
    runId: stream.startsWith("run:") ? stream.slice(4) : null,
    workflow: stream.startsWith("run:") ? { id: "claims", version: 2, hash: "sha256:abc" } : null,
    actor: i % 3 === 0 ? { kind: "user", id: "ana@acme.test" } : { kind: "system", id: "warden" },
    type: i === 0 ? "run.started" : "node.completed",
    payload,
    policyHash: i % 2 ? "sha256:pol" : null,
    redactions: i % 4 === 1 ? [{ kind: "email", path: "input.email" }] : [],
    retainUntil: T0 + 183 * 86_400_000,
  };
}

async function buildTrail(specs: StreamSpec[]): Promise<Trail> {
  const trail: Trail = { entries: [], seals: [], purges: [], chains: new Map() };
  for (let s = 0; s < specs.length; s++) {
    const spec = specs[s];
    const stream = s % 2 ? `tenant:acme-${s}` : `run:run_${s}`;
    const { entries: chain } = extendChain(EMPTY_HEAD, spec.payloads.map((p, i) => record(stream, i, p)));
    trail.chains.set(stream, chain);
    let from = 1;
    for (const to of spec.purgeEnds) {
      trail.purges.push(await signPurge(key, { tenant: "acme", stream, fromSeq: from, toSeq: to, count: to - from + 1, lastHash: chain[to - 1].hash, purgedAt: T0 + 1 }));
      from = to + 1;
    }
    const purged = spec.purgeEnds.at(-1) ?? 0;
    const sealSeqs = new Set(spec.sealAt.filter((q) => q >= 1 && q <= chain.length));
    if (spec.sealHead && chain.length) sealSeqs.add(chain.length);
    for (const q of [...sealSeqs].sort((a, b) => a - b)) trail.seals.push(await signSeal(key, { tenant: "acme", stream, seq: q, hash: chain[q - 1].hash, sealedAt: T0 + 2 }));
    trail.entries.push(...chain.slice(purged));
  }
  return trail;
}

const verify = (t: { entries: AuditEntry[]; seals: SealRecord[]; purges: PurgeRecord[] }, keys = [key.publicJwk]) => verifyAudit({ entries: t.entries, seals: t.seals, purges: t.purges, publicKeys: keys });
const brief = (r: VerifyReport) => r.problems.map((p) => ({ kind: p.kind, stream: p.stream, seq: p.seq }));

// payloads as they come back from the database (canonical JSON, parsed) or straight from a writer
const payloadArb = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(canonicalJson(v)) as unknown));
const streamArb = fc
  .record({
    payloads: fc.array(payloadArb, { minLength: 1, maxLength: 9 }),
    sealAt: fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 2 }),
    sealHead: fc.boolean(),
    purgeCuts: fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 2 }),
  })
  .map(({ payloads, sealAt, sealHead, purgeCuts }) => ({
    payloads,
    sealAt,
    sealHead,
    // a purge never removes a stream's last entry (its head must stay to keep extending the chain)
    purgeEnds: [...new Set(purgeCuts.filter((c) => c < payloads.length))].sort((a, b) => a - b),
  }));
const trailArb = fc.array(streamArb, { minLength: 1, maxLength: 4 });
const RUNS = { numRuns: 60 };

describe("canonical bodies", () => {
  it("are exactly what entryHash hashes, for any payload (sorted or not)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), (a, b) => {
        const [e] = extendChain(EMPTY_HEAD, [record("run:x", 1, { a, b, "10": 1, "9": [b], __proto__: 1 } as unknown)]).entries;
        expect(canonicalBody(e)).toBe(canonicalJson(bodyOf(e)));
        const parsed = JSON.parse(JSON.stringify(e)) as AuditEntry;
        expect(canonicalBody(parsed)).toBe(canonicalJson(bodyOf(parsed)));
        expect(entryHash(parsed)).toBe(e.hash);
      }),
      { numRuns: 200 },
    );
  });
});

describe("verifyAudit: untouched trails", () => {
  it("verifies clean, with seals and purges, in any order", async () => {
    await fc.assert(
      fc.asyncProperty(trailArb, fc.integer(), async (specs, seed) => {
        const t = await buildTrail(specs);
        const shuffled = { ...t, entries: fc.sample(fc.shuffledSubarray(t.entries, { minLength: t.entries.length }), { numRuns: 1, seed })[0] };
        const r = await verify(shuffled);
        expect(r.problems).toEqual([]);
        expect(r).toMatchObject({ ok: true, streams: specs.length, entries: t.entries.length, seals: t.seals.length, purges: t.purges.length });
      }),
      RUNS,
    );
  });

  it("notes unsealed tails and seals inside purged ranges, without calling them problems", async () => {
    const t = await buildTrail([{ payloads: [1, 2, 3, 4, 5, 6], sealAt: [2, 4], sealHead: false, purgeEnds: [3] }]);
    const r = await verify(t);
    expect(r.ok).toBe(true);
    expect(r.info.map((i) => [i.kind, i.seq])).toEqual([
      ["seal_uncheckable", 2],
      ["unsealed", 5],
    ]);
    expect(r.info[0].message).toBe("seal run:run_0@2 is inside purged range 1–3: the entry it vouches for is gone, so it cannot be checked");
    expect(r.info[1].message).toBe("entries 5–6 come after the last seal (seq 4): they are chained, but no signature vouches for them yet");
  });
});

/** Picks a stream of the trail and an entry in it. */
const pick = (t: Trail, n: number) => t.entries[Math.abs(n) % t.entries.length];

describe("verifyAudit: tampering", () => {
  const FIELDS = ["actor.kind", "actor.id", "at", "id", "payload", "policyHash", "prevHash", "redactions", "retainUntil", "runId", "seq", "stream", "tenant", "type", "workflow", "hash"] as const;

  function mutate(e: AuditEntry, field: (typeof FIELDS)[number], v: unknown): AuditEntry {
    const m = structuredClone(e) as AuditEntry & Record<string, unknown>;
    if (field === "actor.kind") m.actor = { ...m.actor, kind: m.actor.kind === "user" ? "service" : "user" };
    else if (field === "actor.id") m.actor = { ...m.actor, id: `${m.actor.id}x` };
    else if (field === "at" || field === "retainUntil") m[field] = (m[field] as number) + 1;
    else if (field === "seq") m.seq = m.seq + 100;
    else if (field === "payload") m.payload = canonicalJson(v) === canonicalJson(m.payload) ? [v] : v;
    else if (field === "redactions") m.redactions = [...m.redactions, { kind: "phone", path: "x" }];
    else if (field === "workflow") m.workflow = m.workflow ? { ...m.workflow, version: (m.workflow.version ?? 0) + 1 } : { id: "w", version: 1, hash: null };
    else if (field === "policyHash" || field === "runId") m[field] = m[field] === null ? "sha256:forged" : null;
    else m[field] = `${m[field] as string}0`;
    return m;
  }

  it("catches any single change to any field of any entry, at that entry", async () => {
    await fc.assert(
      fc.asyncProperty(trailArb, fc.nat(), fc.constantFrom(...FIELDS), fc.jsonValue(), async (specs, n, field, v) => {
        const t = await buildTrail(specs);
        const e = pick(t, n);
        const r = await verify({ ...t, entries: t.entries.map((x) => (x === e ? mutate(e, field, v) : x)) });
        expect(r.ok).toBe(false);
        if (field !== "stream") expect(r.problems.some((p) => p.stream === e.stream && (p.seq === e.seq || (field === "seq" && p.seq === e.seq + 100)))).toBe(true);
        if (!["seq", "stream", "id", "prevHash", "hash"].includes(field)) expect(brief(r)).toEqual([{ kind: "edited", stream: e.stream, seq: e.seq }]);
      }),
      { numRuns: 150 },
    );
  });

  it("catches the deletion of any entry no purge record covers (every head sealed)", async () => {
    await fc.assert(
      fc.asyncProperty(trailArb, fc.nat(), async (specs, n) => {
        const t = await buildTrail(specs.map((s) => ({ ...s, sealHead: true })));
        const e = pick(t, n);
        const r = await verify({ ...t, entries: t.entries.filter((x) => x !== e) });
        expect(brief(r)).toEqual([{ kind: "gap", stream: e.stream, seq: e.seq }]);
        expect(r.problems[0].message.startsWith(`entry ${e.seq} of ${e.stream} is missing and no purge record covers it`)).toBe(true);
      }),
      RUNS,
    );
  });

  it("catches two entries swapped (content between rows, or their seqs and ids)", async () => {
    await fc.assert(
      fc.asyncProperty(trailArb, fc.nat(), fc.nat(), fc.boolean(), async (specs, n, m, swapContent) => {
        const t = await buildTrail(specs.map((s) => ({ ...s, payloads: [...s.payloads, "pad"] })));
        const a = pick(t, n);
        const same = t.entries.filter((x) => x.stream === a.stream && x !== a);
        fc.pre(same.length > 0);
        const b = same[m % same.length];
        const moved = (from: AuditEntry, to: AuditEntry): AuditEntry => (swapContent ? { ...from, id: to.id, seq: to.seq } : { ...from, seq: to.seq, id: to.id });
        const r = await verify({ ...t, entries: t.entries.map((x) => (x === a ? moved(b, a) : x === b ? moved(a, b) : x)) });
        const lo = Math.min(a.seq, b.seq);
        const hi = Math.max(a.seq, b.seq);
        expect(r.problems.find((p) => p.kind === "reordered")).toMatchObject({ stream: a.stream, seq: lo });
        const sealed = new Set(t.seals.filter((s) => s.stream === a.stream).map((s) => s.seq));
        if (!sealed.has(a.seq) && !sealed.has(b.seq)) {
          expect(brief(r)).toEqual([{ kind: "reordered", stream: a.stream, seq: lo }]);
          expect(r.problems[0].message).toBe(`entries ${a.stream}/${lo} and ${a.stream}/${hi} were swapped: the entry stored at seq ${lo} is the original seq ${hi} and the one at seq ${hi} the original seq ${lo} (each hash recomputes only under the other's seq)`);
        }
      }),
      RUNS,
    );
  });

  it("catches a seal signed by another key, or whose hash was changed", async () => {
    await fc.assert(
      fc.asyncProperty(trailArb, fc.nat(), fc.boolean(), async (specs, n, otherKey) => {
        const t = await buildTrail(specs.map((s) => ({ ...s, sealHead: true })));
        const s = t.seals[n % t.seals.length];
        const forged = otherKey ? await signSeal(attacker, { tenant: s.tenant, stream: s.stream, seq: s.seq, hash: s.hash, sealedAt: s.sealedAt }) : { ...s, hash: "f".repeat(64) };
        const r = await verify({ ...t, seals: t.seals.map((x) => (x === s ? forged : x)) });
        expect(brief(r)).toEqual([{ kind: "forged_seal", stream: s.stream, seq: s.seq }]);
        expect(r.problems[0].message).toMatch(otherKey ? /is not signed by a trusted key: signature does not verify/ : /is not signed by a trusted key: signed hash is "[0-9a-f]{64}", the record says "f{64}"/);
      }),
      RUNS,
    );
  });

  it("catches a chain rewritten up to a seal (every hash recomputed)", async () => {
    const t = await buildTrail([{ payloads: [1, 2, 3, 4, 5], sealAt: [], sealHead: true, purgeEnds: [] }]);
    const records = t.entries.map((e) => ({ ...e, payload: e.seq === 2 ? { rewritten: true } : e.payload }));
    const { entries } = extendChain(EMPTY_HEAD, records);
    const r = await verify({ ...t, entries });
    expect(brief(r)).toEqual([{ kind: "seal_mismatch", stream: "run:run_0", seq: 5 }]);
    expect(r.problems[0].message).toMatch(/^seal run:run_0@5 vouches that entry run:run_0\/5 has hash [0-9a-f]{12}…, but the entry's hash is [0-9a-f]{12}…: the chain up to seq 5 was rewritten$/);
  });

  it("catches a forged purge record: another key, or covering more than was purged", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), async (purged, hidden, otherKey) => {
        const t = await buildTrail([{ payloads: [1, 2, 3, 4, 5, 6, 7, 8, 9], sealAt: [], sealHead: true, purgeEnds: [purged] }]);
        const chain = t.chains.get("run:run_0")!;
        const to = purged + hidden;
        const claims = { tenant: "acme", stream: "run:run_0", fromSeq: 1, toSeq: to, count: to, lastHash: chain[to - 1].hash, purgedAt: T0 + 1 };
        // the real record stretched over the deleted entries (its signature no longer fits), or a new one signed by the attacker
        const forged: PurgeRecord = otherKey ? await signPurge(attacker, claims) : { ...t.purges[0], ...claims };
        const r = await verify({ ...t, entries: t.entries.filter((e) => e.seq > to), purges: [forged] });
        expect(brief(r)).toEqual([{ kind: "forged_purge", stream: "run:run_0", seq: 1 }]);
        expect(r.problems[0].message).toContain(`is not signed by a trusted key`);
      }),
      { numRuns: 20 },
    );
  });

  it("catches an extra purge record hiding deleted entries after a real purge", async () => {
    const t = await buildTrail([{ payloads: [1, 2, 3, 4, 5, 6, 7, 8], sealAt: [], sealHead: true, purgeEnds: [2] }]);
    const chain = t.chains.get("run:run_0")!;
    const extra = await signPurge(attacker, { tenant: "acme", stream: "run:run_0", fromSeq: 3, toSeq: 5, count: 3, lastHash: chain[4].hash, purgedAt: T0 + 9 });
    const r = await verify({ ...t, entries: t.entries.filter((e) => e.seq > 5), purges: [...t.purges, extra] });
    expect(brief(r)).toEqual([{ kind: "forged_purge", stream: "run:run_0", seq: 3 }]);
    expect(r.problems[0].message).toBe(`purge record run:run_0#3-5 (seqs 3–5) is not signed by a trusted key: signature does not verify (signature verification failed); entries 3–5 are missing and only this record accounts for them`);
  });
});

describe("verifyAudit: messages", () => {
  it("names gaps, links, ids and duplicates precisely", async () => {
    const t = await buildTrail([{ payloads: [1, 2, 3, 4, 5, 6, 7, 8, 9], sealAt: [], sealHead: true, purgeEnds: [] }]);
    const gap = await verify({ ...t, entries: t.entries.filter((e) => e.seq < 4 || e.seq > 6) });
    expect(gap.problems.map((p) => p.message)).toEqual(["entries 4–6 of run:run_0 are missing and no purge record covers them"]);

    const truncated = await verify({ ...t, entries: t.entries.filter((e) => e.seq < 8) });
    expect(truncated.problems.map((p) => p.message)).toEqual(["entries 8–9 of run:run_0 are missing and no purge record covers them (seal run:run_0@9 shows the stream reached seq 9)"]);

    const e5 = t.entries[4];
    const edited = await verify({ ...t, entries: t.entries.map((e) => (e === e5 ? { ...e, payload: 42 } : e)) });
    expect(edited.problems.map((p) => p.message)).toEqual(["entry run:run_0/5: hash does not match its content (payload, type, actor or another field was changed)"]);

    // edited and rehashed, but the next entry still links to the old hash
    const rehashed = { ...e5, payload: 42 };
    rehashed.hash = entryHash(rehashed);
    const broken = await verify({ ...t, entries: t.entries.map((e) => (e === e5 ? rehashed : e)) });
    expect(brief(broken)).toEqual([{ kind: "broken_link", stream: "run:run_0", seq: 6 }]);
    expect(broken.problems[0].message).toMatch(/^entry run:run_0\/6: prevHash [0-9a-f]{12}… does not match the hash of entry run:run_0\/5 \([0-9a-f]{12}…\): the chain is broken between seq 5 and 6$/);

    const dup = await verify({ ...t, entries: [...t.entries, t.entries[2]] });
    expect(dup.problems.map((p) => [p.kind, p.message])).toEqual([["duplicate", "entry run:run_0/3 appears twice (identical copies)"]]);

    const badId = { ...t.entries[1], id: "run:other/2" };
    badId.hash = entryHash(badId);
    const ids = await verify({ ...t, entries: t.entries.map((e, i) => (i === 1 ? badId : i === 2 ? { ...e, prevHash: badId.hash, hash: entryHash({ ...e, prevHash: badId.hash }) } : e)) });
    expect(ids.problems.find((p) => p.kind === "bad_id")?.message).toBe('the entry at run:run_0/2 has id "run:other/2": an id must be "run:run_0/2"');
  });

  it("links the first entry after a purge to the purge record's lastHash", async () => {
    const t = await buildTrail([{ payloads: [1, 2, 3, 4, 5], sealAt: [], sealHead: true, purgeEnds: [2] }]);
    const wrong = await signPurge(key, { ...t.purges[0], lastHash: "e".repeat(64) });
    const r = await verify({ ...t, purges: [wrong] });
    expect(brief(r)).toEqual([{ kind: "broken_link", stream: "run:run_0", seq: 3 }]);
    expect(r.problems[0].message).toContain("does not match the lastHash of purge record run:run_0#1-2, which removed the entries before it");
  });

  it("reports inconsistent purge records", async () => {
    const t = await buildTrail([{ payloads: [1, 2, 3, 4, 5, 6], sealAt: [], sealHead: true, purgeEnds: [] }]);
    const chain = t.chains.get("run:run_0")!;
    const late = await signPurge(key, { tenant: "acme", stream: "run:run_0", fromSeq: 2, toSeq: 3, count: 5, lastHash: chain[2].hash, purgedAt: T0 });
    const r = await verify({ ...t, entries: t.entries.filter((e) => e.seq === 1 || e.seq > 3), purges: [late] });
    expect(r.problems.map((p) => p.message)).toEqual([
      "purge record run:run_0#2-3 says it removed 5 entries, but seqs 2–3 are 2",
      "purge record run:run_0#2-3 starts at seq 2, but the purged prefix ends at seq 0: a purge removes a prefix, so ranges run contiguously from seq 1",
    ]);
  });

  it("names a seal whose key is unknown", async () => {
    const t = await buildTrail([{ payloads: [1, 2], sealAt: [], sealHead: true, purgeEnds: [] }]);
    const r = await verify(t, [{ ...key.publicJwk, kid: "audit-other" }]);
    expect(r.problems.map((p) => p.message)).toEqual(['seal run:run_0@2 (seq 2) is not signed by a trusted key: it names key "audit-test", which is not a trusted key (trusted: audit-other)']);
  });
});

describe("parseExport", () => {
  it("reads every kind of line and numbers the malformed ones", async () => {
    const t = await buildTrail([{ payloads: [1, 2, 3], sealAt: [], sealHead: true, purgeEnds: [1] }]);
    const lines = [
      JSON.stringify({ kind: "key", jwk: key.publicJwk }),
      ...t.entries.map((e) => JSON.stringify({ kind: "entry", ...e })),
      "",
      "{not json",
      JSON.stringify({ kind: "entry", stream: "run:x", seq: 0, id: "run:x/0", prevHash: "", hash: "" }),
      JSON.stringify({ kind: "mystery" }),
      ...t.seals.map((s) => JSON.stringify({ kind: "seal", ...s })),
      ...t.purges.map((p) => JSON.stringify({ kind: "purge", ...p })),
    ];
    const parsed = parseExport(`${lines.join("\r\n")}\r\n`);
    expect(parsed.entries).toHaveLength(2);
    expect(parsed.seals).toEqual(t.seals);
    expect(parsed.purges).toEqual(t.purges);
    expect(parsed.keys).toEqual([key.publicJwk]);
    expect(parsed.errors.map((e) => e.line)).toEqual([5, 6, 7]);
    expect(parsed.errors[0].message).toMatch(/^not valid JSON: /);
    expect(parsed.errors[1].message).toBe("entry has no valid seq (a positive integer; got 0)");
    expect(parsed.errors[2].message).toBe('unknown kind "mystery" (expected entry, seal, purge or key)');
    const r = await verifyAudit({ entries: parsed.entries, seals: parsed.seals, purges: parsed.purges, publicKeys: parsed.keys });
    expect(r.problems).toEqual([]);
  });
});

describe("fastEntryDigest (the export's entry lines hashed as written)", () => {
  const entryOf = (payload: unknown, extra: Partial<AuditRecord> = {}) => extendChain(EMPTY_HEAD, [{ ...record("run:fast", 1, payload), ...extra }]).entries[0];
  const slow = (e: AuditEntry) => {
    const { entry: _kept, ...d } = digestEntry(e);
    return d;
  };

  it("agrees with the full path on every entry, whatever the payload holds", () => {
    const tricky = fc.oneof(
      fc.constant({ policyHash: "x", payload: { seq: 9 }, stream: "run:other" }),
      fc.constant(',"policyHash":null,"prevHash":"'),
      fc.constant({ "10": 1, "2": 2, é: "\u2028" }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), tricky), fc.string(), (payload, actorId) => {
        const e = entryOf(payload, { actor: { kind: "user", id: actorId } });
        const line = entryExportLine(e);
        expect(JSON.parse(line)).toEqual({ kind: "entry", ...JSON.parse(canonicalJson(e)) });
        expect(fastEntryDigest(line)).toEqual(slow(e));
      }),
      { numRuns: 500 },
    );
  });

  it("leaves every line it cannot vouch for to the full path", () => {
    const e = entryOf({ claim: "c-1", amount: 120 });
    const line = entryExportLine(e);
    const cases = [
      line.replace('"amount":120', '"amount":121'), // an edited payload no longer hashes
      JSON.stringify({ kind: "entry", ...e }), // another layout
      line.replace(',"at":', ',"extra":1,"at":'), // an odd field
      line.replace('"workflow":', '"zz":1,"workflow":'),
      line.slice(0, -1), // cut short
    ];
    for (const c of cases) expect(fastEntryDigest(c)).toBeNull();
    // and the full path names the edit
    const edited = parseExport(cases[0]).entries[0];
    expect(digestEntry(edited).ok).toBe(false);
  });

  it("leaves an id that does not match its stream and seq to the full path, which names it", () => {
    const e = entryOf("x");
    const forged = { ...e, id: "run:fast/7" };
    forged.hash = entryHash(forged);
    expect(fastEntryDigest(entryExportLine(forged))).toBeNull();
    expect(slow(forged).badId).toBe("run:fast/7");
    // an id-like member inside the payload does not stand in for the entry's own
    const decoy = { ...e, id: "run:fast/7", payload: { x: 1, id: "run:fast/1", payload: 2 } };
    decoy.hash = entryHash(decoy);
    expect(fastEntryDigest(entryExportLine(decoy))).toBeNull();
  });
});
