import { describe, expect, it } from "vitest";
import { classify } from "../../bench/support/native-profile.ts";

/** One `perf script -F comm,tid,ip,sym` sample: a header line, then its frames innermost first. */
const sample = (comm: string, ...frames: string[]) => `${comm} 4242\n${frames.map((f, i) => `\t${(0x1000 + i).toString(16)} ${f}`).join("\n")}\n\n`;

describe("classify (bench --perf: where workerd's CPU goes)", () => {
  it("puts each workerd sample in the first category whose frames it has, the rest in JavaScript", () => {
    const text = [
      // an fsync under a commit counts as fsync, not as WAL writes or statements
      sample("workerd", "do_fsync", "__x64_sys_fdatasync", "sqlite3WalFrames", "vdbeCommit", "SqliteDatabase::Query::Query"),
      sample("workerd", "sqlite3WalFrames", "vdbeCommit", "sqlite3VdbeExec"),
      sample("workerd", "sqlite3VdbeExec", "SqlStorage::exec"),
      sample("workerd", "sqlite3Prepare", "sqlite3LockAndPrepare", "SqlStorage::exec"),
      // creating an actor opens its database: counts as creation
      sample("workerd", "sqlite3VdbeExec", "Worker::Actor::Actor", "worker_new_actor"),
      sample("workerd", "v8::internal::Heap::CollectGarbage"),
      sample("workerd", "[unknown]", "[unknown]"),
      sample("workerd", "[unknown]"),
      // another thread's command name: not the Worker's process work
      sample("perf-exec", "do_fsync"),
    ].join("");
    const p = classify(text);
    expect(p.samples).toBe(8);
    expect(Object.fromEntries(p.shares)).toEqual({
      "SQLite commit: fsync": 1 / 8,
      "SQLite commit: WAL writes": 1 / 8,
      "SQLite: running statements": 1 / 8,
      "SQLite: preparing statements": 1 / 8,
      "creating a Durable Object (its database included)": 1 / 8,
      "garbage collection": 1 / 8,
      "JavaScript and the runtime around it": 2 / 8,
    });
    expect(p.shares[0][0]).toBe("JavaScript and the runtime around it");
  });

  it("an empty dump has no samples and no shares", () => {
    expect(classify("")).toEqual({ samples: 0, shares: [] });
  });
});
