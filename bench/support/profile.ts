/** CPU profile of workerd's isolate thread through wrangler dev's inspector (Chrome DevTools Protocol), and a summary by function. */

export interface CdpProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }>;
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export async function openProfiler(inspectorPort: number): Promise<{ stop: () => Promise<CdpProfile> }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ webSocketDebuggerUrl: string; title?: string }>;
  if (!targets.length) throw new Error("no inspector targets");
  // wrangler's inspector proxy wants an allowed Origin (undici's WebSocket takes non-standard headers)
  // Node's WebSocket (the global types here are workerd's, hence the narrow local type)
  type NodeWs = { send(s: string): void; close(): void; onopen: (() => void) | null; onerror: ((e: unknown) => void) | null; onmessage: ((m: { data: unknown }) => void) | null };
  const Ws = (globalThis as unknown as { WebSocket: new (url: string, init: object) => NodeWs }).WebSocket;
  const ws = new Ws(targets[0].webSocketDebuggerUrl, { headers: { origin: "http://localhost" } });
  await new Promise<void>((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
  let id = 0;
  const pending = new Map<number, (v: unknown) => void>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  };
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const n = ++id;
      pending.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  await call("Profiler.start");
  return {
    stop: async () => {
      const r = (await call("Profiler.stop")) as { profile: CdpProfile };
      ws.close();
      return r.profile;
    },
  };
}

/** Self and inclusive time by function (bundled names; workerd runs the bundle), in ms of the isolate thread. */
export function summarizeProfile(p: CdpProfile, topN = 22): { totalMs: number; idleMs: number; self: Array<[string, number]>; inclusive: Array<[string, number]> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  const deltas = p.timeDeltas ?? [];
  (p.samples ?? []).forEach((sid, i) => selfUs.set(sid, (selfUs.get(sid) ?? 0) + (deltas[i + 1] ?? 0)));
  const name = (id: number) => byId.get(id)!.callFrame.functionName || "(anonymous)";
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    total += us;
    self.set(name(id), (self.get(name(id)) ?? 0) + us);
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const k = name(x);
      if (k === "(root)" || seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  const top = (m: Map<string, number>) => [...m].map(([k, v]) => [k, v / 1000] as [string, number]).sort((a, b) => b[1] - a[1]).slice(0, topN);
  return { totalMs: total / 1000, idleMs: (self.get("(idle)") ?? 0) / 1000, self: top(self), inclusive: top(incl) };
}
