/**
 * Budgets end to end in workerd, against real Durable Objects and a real sqld (the audit trail):
 * 50 concurrent runs share a $1.00 tenant budget (with and without objects evicted mid-way) and
 * the settled total never passes it, every refusal is an event and an audit entry and a
 * notification; a runaway agent loop stops at its iteration limit or its budget, whichever
 * comes first; settlement is idempotent; an unreachable budget spends nothing until it is back.
 * The only fake is the scripted model provider, which reports usage.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { budgetStub } from "../../src/api/stubs.ts";
import { tenantBudgetName, workflowBudgetName } from "../../src/budget/budget-scopes.ts";
import type { AuditEntry } from "../../src/audit/audit-entry.ts";
import { runIdForKey } from "../../src/api/run-ids.ts";
import { api, events, publish, runRpc, runStubFor, settle, startRun, tokenFor } from "./helpers.ts";

/** $1,000 per million tokens: one token costs $0.001. */
const PRICES = { "scripted/*": { input: 1000, output: 1000 } };

/** One model call of 100 tokens ($0.100), reserved at its worst case (~114 tokens with a 100-token output cap). */
function oneCallFlow(id: string) {
  return {
    id,
    version: 1,
    provider: { kind: "scripted", script: "s" },
    scripts: { s: { turns: [{ text: '{"ok":true}', usage: { input_tokens: 10, output_tokens: 90 } }] } },
    start: "ask",
    nodes: { ask: { kind: "llm", model: "m", prompt: "Go {{input.name}}", maxTokens: 100, next: "done" }, done: { kind: "end", output: "{{nodes.ask.output}}" } },
    policy: { prices: PRICES },
  };
}

/** An agent that calls a tool forever. */
function runawayFlow(id: string, maxIterations: number, policy: Record<string, unknown> = {}) {
  return {
    id,
    version: 1,
    provider: { kind: "scripted", script: "s" },
    scripts: { s: { turns: Array.from({ length: 60 }, () => ({ tool_calls: [{ name: "echo", args: { again: true } }], usage: { input_tokens: 10, output_tokens: 10 } })) } },
    start: "loop",
    nodes: { loop: { kind: "agent", model: "m", prompt: "Loop {{input.name}}", tools: ["echo"], maxIterations, maxTokens: 20, next: "done" }, done: { kind: "end" } },
    tools: { echo: { kind: "builtin", builtin: "echo" } },
    policy: { prices: PRICES, ...policy },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function usage(name: string) {
  const r = await budgetStub(env, name).usage(name);
  if (!r.ok) throw new Error(r.problem.detail);
  return r.value;
}

/** Fires the runs' alarms until every reservation of the budget is settled or released. */
async function quiesce(name: string, runs: string[], rounds = 400) {
  for (let i = 0; i < rounds; i++) {
    const u = await usage(name);
    if (u.open === 0 && u.day.used.reserved.usdMicros === 0) return u;
    await Promise.all(runs.map((id) => runDurableObjectAlarm(runStubFor(id)).catch(() => undefined)));
    await sleep(25);
  }
  throw new Error(`budget ${name} still holds reservations: ${JSON.stringify(await usage(name))}`);
}

async function drainedAudit(runs: string[]) {
  for (let i = 0; i < 200; i++) {
    const backlogs = await Promise.all(runs.map((id) => runRpc(id).auditBacklog()));
    if (backlogs.every((b) => b.pending === 0)) return;
    await Promise.all(runs.map((id) => runDurableObjectAlarm(runStubFor(id)).catch(() => undefined)));
    await sleep(25);
  }
  throw new Error("audit outboxes did not drain");
}

async function auditEntries(token: string, type: string): Promise<AuditEntry[]> {
  const res = await api(`/v1/audit?type=${type}&limit=1000`, { token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { entries: AuditEntry[] }).entries;
}

async function sharedBudgetRace(tenant: string, evict: boolean) {
  const admin = await tokenFor(tenant, ["admin"]);
  const put = await api("/v1/budgets/tenant", { method: "PUT", token: admin, json: { perDay: { usd: 1 }, notify: { emails: [`owner@${tenant}.test`] } } });
  expect(put.status).toBe(200);
  await publish(admin, oneCallFlow("spend"));
  const runs = await Promise.all(Array.from({ length: 50 }, (_, i) => startRun(admin, "spend", { name: `r${i}` }).then((r) => r.id)));
  if (evict) {
    // evict the shared budget and a few runs while the race is on (in-memory state gone, storage kept)
    for (let round = 0; round < 6; round++) {
      await sleep(10);
      const victims = [budgetStub(env, tenantBudgetName(tenant)) as unknown as DurableObjectStub, ...runs.slice(round * 7, round * 7 + 4).map(runStubFor)];
      await Promise.all(victims.map((v) => evictDurableObject(v).catch(() => undefined)));
    }
  }
  const finals = await Promise.all(runs.map((id) => settle(admin, id)));
  const final = await quiesce(tenantBudgetName(tenant), runs);
  const limit = 1_000_000;
  // the invariant: what was spent never passes the limit
  expect(final.day.used.settled.usdMicros).toBeGreaterThan(0);
  expect(final.day.used.settled.usdMicros).toBeLessThanOrEqual(limit);
  const completed = finals.filter((r) => r.status === "completed");
  const halted = finals.filter((r) => r.status === "halted");
  expect(completed.length + halted.length).toBe(50);
  expect(completed.length).toBeGreaterThanOrEqual(7);
  expect(halted.length).toBeGreaterThan(0);
  // every refused call is recorded: the event (which budget, used, would cost), no model call after it
  let spentByRuns = 0;
  for (const r of finals) {
    const log = await events(admin, r.id as string);
    const refused = log.filter((e) => e.type === "budget.refused");
    if (r.status === "halted") {
      expect(r.halt).toMatchObject({ cause: "budget" });
      expect(refused).toHaveLength(1);
      expect(refused[0].data).toMatchObject({ scope: "tenant", name: tenantBudgetName(tenant), window: "day", unit: "usd", limit });
      expect((refused[0].data.used as number) + (refused[0].data.wouldAdd as number)).toBeGreaterThan(limit);
      const last = log.findIndex((e) => e.type === "budget.refused");
      expect(log.slice(last).some((e) => e.type === "llm.started")).toBe(false);
    } else {
      expect(refused).toHaveLength(0);
    }
    for (const e of log) if (e.type === "budget.settled") spentByRuns += (e.data.actual as { usdMicros: number }).usdMicros;
  }
  // the runs' own record of what they settled is the budget's total
  expect(spentByRuns).toBe(final.day.used.settled.usdMicros);
  // and each refusal is an audit entry
  await drainedAudit(runs);
  const auditor = await tokenFor(tenant, ["auditor"]);
  const refusedEntries = await auditEntries(auditor, "budget.refused");
  expect(new Set(refusedEntries.map((e) => e.runId))).toEqual(new Set(halted.map((r) => r.id)));
  expect((await auditEntries(auditor, "budget.settled")).length).toBeGreaterThanOrEqual(completed.length);
  return { runs, halted, completed, final };
}

describe("budgets: a shared tenant budget under concurrency", () => {
  it("50 concurrent runs against $1.00: the settled total never exceeds it, and every refusal is an event, an audit entry and a notification", async () => {
    const { halted } = await sharedBudgetRace("bud-race", false);
    const id = halted[0].id as string;
    let mails: Array<{ subject: string; text: string; to: Array<{ address: string }> }> = [];
    for (let i = 0; i < 200 && !mails.length; i++) {
      const all = (await (await fetch(`${env.MAILDEV_URL}/api/email`)).json()) as typeof mails;
      mails = all.filter((m) => m.text?.includes(id));
      if (!mails.length) await runDurableObjectAlarm(runStubFor(id)).catch(() => undefined);
      await sleep(25);
    }
    expect(mails.length).toBeGreaterThanOrEqual(1);
    expect(mails[0].to[0].address).toBe("owner@bud-race.test");
    expect(mails[0].subject).toMatch(/halted by a budget/);
  });

  it("holds with the Budget object and runs evicted mid-way", async () => {
    await sharedBudgetRace("bud-evict", true);
  });
});

describe("budgets: per-run limits and the runaway agent", () => {
  it("stops a runaway agent at its iteration limit when that comes first", async () => {
    const admin = await tokenFor("bud-loop", ["admin"]);
    await publish(admin, runawayFlow("loop-iter", 3, { limits: { maxCostUsdPerRun: 5 } }));
    const run = await startRun(admin, "loop-iter", { name: "a" });
    const final = await settle(admin, run.id);
    expect(final.status).toBe("halted");
    expect(final.halt).toMatchObject({ cause: "limit", reason: expect.stringMatching(/maxIterations \(3\)/) });
    const log = await events(admin, run.id);
    expect(log.filter((e) => e.type === "llm.started")).toHaveLength(3);
    expect(log.find((e) => e.type === "run.limit_reached")?.data).toMatchObject({ limit: "iterations", max: 3, used: 3 });
  });

  it("stops a runaway agent at its per-run budget when that comes first, before the call that would pass it", async () => {
    const admin = await tokenFor("bud-loop", ["admin"]);
    // each call: 20 tokens actual ($0.020), reserved at its worst case (the growing conversation + 20 output tokens); $0.50 per run
    await publish(admin, runawayFlow("loop-cost", 50, { limits: { maxCostUsdPerRun: 0.5 } }));
    const run = await startRun(admin, "loop-cost", { name: "b" });
    const final = await settle(admin, run.id);
    expect(final.status).toBe("halted");
    expect(final.halt).toMatchObject({ cause: "budget" });
    const log = await events(admin, run.id);
    const reached = log.find((e) => e.type === "run.limit_reached")!;
    expect(reached.data).toMatchObject({ limit: "usd", max: 500_000 });
    expect((reached.data.used as number) + (reached.data.wouldAdd as number)).toBeGreaterThan(500_000);
    expect(reached.data.used as number).toBeLessThanOrEqual(500_000);
    const calls = log.filter((e) => e.type === "llm.completed").length;
    expect(calls).toBe((reached.data.used as number) / 20_000);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(calls).toBeLessThan(50);
    const b = (await (await api(`/v1/budgets/runs/${run.id}`, { token: admin })).json()) as { spent: { usd: number }; halt: { cause: string }; slices: unknown[]; openReservations: unknown[] };
    expect(b.spent.usd).toBeLessThanOrEqual(0.5);
    expect(b.halt.cause).toBe("budget");
    // a halted run holds nothing: its slices went back to the tenant's Budget object
    expect(b.slices).toEqual([]);
    expect(b.openReservations).toEqual([]);
  });

  it("a per-run cap set through the API halts the run like a policy's", async () => {
    const admin = await tokenFor("bud-runcap", ["admin"]);
    // the run waits an hour before its agent loop; it is capped while it waits, then the wait is fired
    const flow = runawayFlow("loop-api", 50);
    await publish(admin, { ...flow, start: "hold", nodes: { hold: { kind: "wait", for: "1h", next: "loop" }, ...flow.nodes } });
    const run = await startRun(admin, "loop-api", { name: "c" });
    expect((await settle(admin, run.id, ["waiting"])).status).toBe("waiting");
    const put = await api(`/v1/budgets/runs/${run.id}`, { method: "PUT", token: admin, json: { perRun: { tokens: 60 } } });
    expect(put.status).toBe(200);
    await runInDurableObject(runStubFor(run.id), (_instance, state: DurableObjectState) => {
      state.storage.sql.exec(`UPDATE timers SET due_at = ? WHERE id LIKE 'wait:%'`, Date.now() - 1);
    });
    await runDurableObjectAlarm(runStubFor(run.id));
    const final = await settle(admin, run.id);
    expect(final.status).toBe("halted");
    const log = await events(admin, run.id);
    expect(log.some((e) => e.type === "budget.limits_set")).toBe(true);
    const reached = log.find((e) => e.type === "run.limit_reached")!;
    expect(reached.data).toMatchObject({ limit: "tokens", max: 60 });
  });
});

describe("budgets: the ledger object", () => {
  it("settles idempotently by reservation id: a retried settlement or release never double-counts", async () => {
    const name = workflowBudgetName("bud-idem", "wf");
    const b = budgetStub(env, name);
    await b.setLimits(name, { day: { usdMicros: 1_000 } }, {}, "test");
    const ask = (id: string, runId: string) => b.reserveSlices({ id, runId, scopes: [{ name, amount: { usdMicros: 600, tokens: 10 } }] });
    const first = await ask("r1", "run_x");
    expect(first.ok && first.value.kind).toBe("granted");
    const again = await ask("r1", "run_x");
    expect(again.ok && again.value.kind === "granted" && again.value.repeated).toBe(true);
    const second = await ask("r2", "run_y");
    expect(second.ok && second.value.kind).toBe("refused");
    for (let i = 0; i < 3; i++) await b.returnSlices({ id: "r1", runId: "run_x", scopes: [{ name, actual: { usdMicros: 250, tokens: 5 }, release: false }] });
    await b.returnSlices({ id: "r1", runId: "run_x", scopes: [{ name, actual: { usdMicros: 0, tokens: 0 }, release: true }] }); // a late release of a settled reservation changes nothing
    const u = await usage(name);
    expect(u.day.used.settled).toEqual({ usdMicros: 250, tokens: 5 });
    expect(u.day.used.reserved).toEqual({ usdMicros: 0, tokens: 0 });
    expect(u.open).toBe(0);
    const ledger = await b.ledger(name);
    expect(ledger.ok && ledger.value.map((l) => l.kind)).toEqual(["settled", "refused", "reserved", "limits_changed"]);
    // a request for another budget's name is refused by this object
    const wrong = await b.usage(tenantBudgetName("someone-else"));
    expect(wrong.ok).toBe(false);
  });

  it("grants a run's slices of every scope all or none, answers a repeated ask as the first, and settles a replaced or returned slice once", async () => {
    const tenant = "bud-slices";
    const name = tenantBudgetName(tenant);
    const wf = workflowBudgetName(tenant, "wf");
    const b = budgetStub(env, name);
    await b.setLimits(name, { day: { usdMicros: 1_000 } }, {}, "test");
    const amt = (usdMicros: number) => ({ usdMicros, tokens: 0 });
    const ask = { id: "run_a/slice#1", runId: "run_a", scopes: [{ name, amount: amt(800), min: amt(200) }, { name: wf, amount: amt(800), min: amt(200) }] };
    const first = await b.reserveSlices(ask);
    // the tenant's window is tight: a quarter of what it has left; the workflow's has no limit: all of it
    expect(first.ok && first.value.kind === "granted" && first.value.scopes.map((x) => x.reservation.amount.usdMicros)).toEqual([250, 800]);
    // the run died before it recorded the answer: asked again with the same id, granted once
    const again = await b.reserveSlices(ask);
    expect(again.ok && again.value.kind === "granted" && again.value.repeated && again.value.scopes.map((x) => x.reservation.amount.usdMicros)).toEqual([250, 800]);
    expect((await usage(name)).day.used.reserved.usdMicros).toBe(250);
    // all or none: another run's ask that the tenant cannot take leaves the workflow scope untouched
    const other = await b.reserveSlices({ id: "run_b/slice#1", runId: "run_b", scopes: [{ name: wf, amount: amt(100), min: amt(100) }, { name, amount: amt(900), min: amt(900) }] });
    expect(other.ok && other.value).toMatchObject({ kind: "refused", name, refusal: { window: "day", used: 250, wouldAdd: 900 } });
    expect((await usage(wf)).open).toBe(1);
    // the next slice of run_a replaces its first in the tenant scope: the first settles at what it lent (100) in the same transaction
    const next = await b.reserveSlices({ id: "run_a/slice#2", runId: "run_a", scopes: [{ name, amount: amt(800), min: amt(200), replaces: { id: "run_a/slice#1", actual: amt(100) } }] });
    expect(next.ok && next.value.kind === "granted" && next.value.scopes[0].reservation.amount.usdMicros).toBe(225); // (1,000 - 100) / 4
    // returned twice (an outbox redelivery): counted once
    for (let i = 0; i < 2; i++) {
      const r = await b.returnSlices({ id: "run_a/slice#2", runId: "run_a", scopes: [{ name, actual: amt(50), release: false }] });
      expect(r.ok).toBe(true);
    }
    const u = await usage(name);
    expect(u.day.used).toEqual({ reserved: amt(0), settled: amt(150) });
    expect(u.open).toBe(0);
    const ledger = await b.ledger(name);
    expect(ledger.ok && ledger.value.map((l) => l.kind)).toEqual(["settled", "reserved", "settled", "refused", "reserved", "limits_changed"]);
  });

  it("a run whose first node is a model call asks for its first slice with its start; if the answer is lost, it asks again with the same id and is granted once", async () => {
    const tenant = "bud-admission";
    const admin = await tokenFor(tenant, ["admin"]);
    await publish(admin, oneCallFlow("adm"));
    const quiet = await startRun(admin, "adm", { name: "q" });
    expect((await settle(admin, quiet.id)).status).toBe("completed");
    const log = await events(admin, quiet.id);
    // the ask is written with the start, before the first step; the first call reserves from its grant with no other ask
    expect(log.slice(0, 3).map((e) => e.type)).toEqual(["run.started", "policy.loaded", "budget.slice_requested"]);
    const at = (type: string) => log.findIndex((e) => e.type === type);
    expect(at("budget.slice_granted")).toBeLessThan(at("budget.requested")); // granted before the call looked for it (here even before the first step)
    expect(log[2].data).toMatchObject({ admission: true, callId: null, sliceId: `${quiet.id}/slice#1` });
    expect(log.filter((e) => e.type === "budget.slice_requested")).toHaveLength(1);
    expect(log.filter((e) => e.type === "budget.slice_granted")).toHaveLength(1);
    // the answer lost (the run died after the Budget object granted it, before recording it): the run asks again with the same slice id and is granted once
    const key = "admission-answer-lost";
    const lostId = await runIdForKey(tenant, key);
    const name = tenantBudgetName(tenant);
    const amt = { usdMicros: 500_000, tokens: 500 };
    const granted = await budgetStub(env, name).reserveSlices({ id: `${lostId}/slice#1`, runId: lostId, scopes: [{ name, amount: amt, min: amt }, { name: workflowBudgetName(tenant, "adm"), amount: amt, min: amt }] });
    expect(granted.ok && granted.value.kind).toBe("granted");
    const lost = await startRun(admin, "adm", { name: "e" }, { "idempotency-key": key });
    expect(lost.id).toBe(lostId);
    expect((await settle(admin, lost.id)).status).toBe("completed");
    const elog = await events(admin, lost.id);
    expect(elog.filter((e) => e.type === "budget.slice_granted")).toHaveLength(1);
    expect(elog.filter((e) => e.type === "budget.slice_requested")).toHaveLength(1);
    expect(elog.filter((e) => e.type === "llm.started")).toHaveLength(1);
    await quiesce(name, [quiet.id, lost.id]);
    const ledger = await budgetStub(env, name).ledger(name);
    expect(ledger.ok && ledger.value.filter((l) => l.kind === "reserved" && l.reservationId === `${lost.id}/slice#1`)).toHaveLength(1);
    expect((await usage(name)).day.used).toMatchObject({ reserved: { usdMicros: 0 }, settled: { usdMicros: 200_000 } });
  });

  it("an admission slice granted but answered unreachable is released, never left reserved", async () => {
    const tenant = "bud-adm-down";
    const admin = await tokenFor(tenant, ["admin"]);
    await publish(admin, oneCallFlow("admd"));
    const key = "admission-granted-then-down";
    const id = await runIdForKey(tenant, key);
    const name = tenantBudgetName(tenant);
    const amt = { usdMicros: 500_000, tokens: 500 };
    const tb = budgetStub(env, name);
    // granted (the answer lost), then the object unreachable as the run asks again with the same id
    await tb.reserveSlices({ id: `${id}/slice#1`, runId: id, scopes: [{ name, amount: amt, min: amt }, { name: workflowBudgetName(tenant, "admd"), amount: amt, min: amt }] });
    await tb.injectFault({ unavailable: true });
    const run = await startRun(admin, "admd", { name: "x" }, { "idempotency-key": key });
    for (let i = 0; i < 300 && !(await events(admin, run.id)).some((e) => e.type === "budget.slice_declined"); i++) await sleep(10);
    await tb.injectFault({ unavailable: false });
    expect((await settle(admin, run.id)).status).toBe("completed");
    expect((await events(admin, run.id)).find((e) => e.type === "budget.slice_declined")?.data).toMatchObject({ answer: "unavailable" });
    await quiesce(name, [run.id]);
    expect((await usage(name)).day.used.reserved.usdMicros).toBe(0);
  });

  it("an unreachable budget fails closed: the run spends nothing, retries with backoff, and proceeds once it is back", async () => {
    const tenant = "bud-down";
    const admin = await tokenFor(tenant, ["admin"]);
    await publish(admin, oneCallFlow("down"));
    const tb = budgetStub(env, tenantBudgetName(tenant));
    await tb.injectFault({ unavailable: true });
    const run = await startRun(admin, "down", { name: "d" });
    for (let i = 0; i < 3; i++) {
      await runDurableObjectAlarm(runStubFor(run.id)).catch(() => undefined);
      await sleep(20);
    }
    let log = await events(admin, run.id);
    expect(log.filter((e) => e.type === "budget.unavailable").length).toBeGreaterThanOrEqual(2);
    expect(log.some((e) => e.type === "llm.started")).toBe(false);
    const retries = log.filter((e) => e.type === "budget.unavailable").map((e) => (e.data.retryAt as number) - e.at);
    expect(retries[1]).toBeGreaterThan(retries[0]); // backoff grows
    expect((await api(`/v1/runs/${run.id}`, { token: admin }).then((r) => r.json()) as { status: string }).status).toBe("running");
    await tb.injectFault({ unavailable: false });
    const final = await settle(admin, run.id);
    expect(final.status).toBe("completed");
    log = await events(admin, run.id);
    expect(log.filter((e) => e.type === "llm.started")).toHaveLength(1);
    await quiesce(tenantBudgetName(tenant), [run.id]);
    expect((await usage(tenantBudgetName(tenant))).day.used.settled.usdMicros).toBe(100_000);
  });
});

describe("budgets API", () => {
  it("sets and reads limits with the right roles, validates bodies as problem+json, and audits every change on the tenant stream", async () => {
    const tenant = "bud-api";
    const admin = await tokenFor(tenant, ["admin"], "ada");
    const operator = await tokenFor(tenant, ["operator"]);
    const auditor = await tokenFor(tenant, ["auditor"]);
    expect((await api("/v1/budgets/tenant", { method: "PUT", token: operator, json: { perDay: { usd: 5 } } })).status).toBe(403);
    const bad = await api("/v1/budgets/tenant", { method: "PUT", token: admin, json: { perDay: { usd: -1 }, perWeek: {} } });
    expect(bad.status).toBe(422);
    expect(bad.headers.get("content-type")).toBe("application/problem+json");
    const ok = await api("/v1/budgets/workflows/claims-triage", { method: "PUT", token: admin, json: { perRun: { usd: 2 }, perMonth: { usd: 250.5, tokens: 10_000_000 } } });
    expect(ok.status).toBe(200);
    const read = (await (await api("/v1/budgets/workflows/claims-triage", { token: auditor })).json()) as { scope: string; limits: unknown; version: number; usage: { month: { period: string; used: { usd: number } } } };
    expect(read).toMatchObject({ scope: "workflow", limits: { perRun: { usd: 2 }, perMonth: { usd: 250.5, tokens: 10_000_000 } }, version: 1 });
    expect(read.usage.month.period).toMatch(/^\d{4}-\d{2}$/);
    expect((await api("/v1/budgets/tenant", { token: operator })).status).toBe(200);
    expect((await api("/v1/budgets/workflows/Not Valid", { token: admin })).status).toBe(404);
    expect((await api("/v1/budgets/runs/run_nope", { token: admin })).status).toBe(404);
    for (let i = 0; i < 100; i++) {
      const entries = await auditEntries(auditor, "budget.limits_changed");
      if (entries.length) {
        expect(entries[0]).toMatchObject({ stream: `tenant:${tenant}`, actor: { id: "ada" }, payload: { scope: "workflow", limits: { perRun: { usd: 2 } } } });
        return;
      }
      await sleep(25);
    }
    throw new Error("the limit change was not audited");
  });
});
