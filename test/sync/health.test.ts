// /healthz of the sync container: when a loop or a watch counts as stuck (installer/sync/health.ts),
// and what the reconcile loop reports to it. No time passes here: every clock is stepped by hand.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { watchIdleMs } from "../../installer/cluster/kube-api.ts";
import {
  healthBounds,
  stuckReason,
  type LoopProgress,
  type WatchProgress,
} from "../../installer/sync/health.ts";
import { jitteredBackoff } from "../../installer/sync/backoff.ts";
import { ReconcileLoop } from "../../installer/sync/reconcile-loop.ts";

const s = 1000;
const min = 60 * s;
const resync = 300 * s; // the default --resync
const bounds = healthBounds(resync);

const loop = (
  startedAt: number,
  passStartedAt: number | null,
  lastPassEndedAt: number | null,
): LoopProgress => ({ startedAt, passStartedAt, lastPassEndedAt });
const watch = (startedAt: number, lastHeardAt: number | null): WatchProgress => ({
  startedAt,
  lastHeardAt,
});

describe("stuck or not: one loop and one watch at a time", () => {
  // [name, loop, watch, now, the reason's fragment (null: healthy)]
  const cases: [string, LoopProgress, WatchProgress, number, string | null][] = [
    ["just started, nothing yet", loop(0, null, null), watch(0, null), 1 * s, null],
    ["first pass under way", loop(0, 0, null), watch(0, null), 10 * s, null],
    [
      "idle node: last pass at the last resync, watch reopened 4 min ago",
      loop(0, null, 10 * resync),
      watch(0, 10 * resync + 60 * s),
      11 * resync - 1,
      null,
    ],
    [
      "idle loop just inside 3 resync periods",
      loop(0, null, 0),
      watch(0, 3 * resync),
      3 * resync,
      null,
    ],
    [
      "idle loop past 3 resync periods: the resync no longer runs",
      loop(0, null, 0),
      watch(0, 3 * resync),
      3 * resync + 1,
      "policy loop: no pass ended in 900 s (limit 900 s)",
    ],
    [
      "no first pass in 3 resync periods",
      loop(0, null, null),
      watch(0, 1 * s),
      3 * resync + 1 * s,
      "policy loop: no pass yet in 901 s",
    ],
    [
      "a pass running for 5 minutes is still fine",
      loop(0, 100 * s, 90 * s),
      watch(0, 100 * s),
      100 * s + 5 * min,
      null,
    ],
    [
      "a pass running past 5 minutes is hung",
      loop(0, 100 * s, 90 * s),
      watch(0, 100 * s),
      100 * s + 5 * min + 1 * s,
      "policy loop: a pass has been running for 301 s (limit 300 s)",
    ],
    [
      // A long pass is judged by its own bound, not by how long ago the previous one ended.
      "a 4-minute pass after a long idle stretch",
      loop(0, 20 * min, 0),
      watch(0, 20 * min),
      24 * min,
      null,
    ],
    [
      "watch silent for 30 minutes is fine",
      loop(0, null, 40 * min),
      watch(0, 10 * min),
      40 * min,
      null,
    ],
    [
      "watch silent past 30 minutes: a list or watch nothing will end",
      loop(0, null, 40 * min),
      watch(0, 4 * min),
      40 * min,
      "watch of Secret s: nothing heard in 2160 s (limit 1800 s)",
    ],
    [
      "watch never heard from since it started",
      loop(0, null, 31 * min),
      watch(0, null),
      31 * min,
      "watch of Secret s: nothing heard in 1860 s",
    ],
  ];
  for (const [name, l, w, now, want] of cases) {
    it(name, () => {
      const why = stuckReason({ "policy loop": l }, { "watch of Secret s": w }, now, bounds);
      if (want === null) assert.equal(why, null);
      else assert.ok(why?.includes(want), `got ${String(why)}`);
    });
  }

  it("names every stuck loop and watch, and only those", () => {
    const why = stuckReason(
      { "policy loop": loop(0, null, 59 * min), "config loop": loop(0, 50 * min, 40 * min) },
      { "watch of Secret s": watch(0, 59 * min), "watch of ConfigMap c": watch(0, 1 * min) },
      60 * min,
      bounds,
    );
    assert.equal(
      why,
      "config loop: a pass has been running for 600 s (limit 300 s); watch of ConfigMap c: nothing heard in 3540 s (limit 1800 s)",
    );
  });
});

describe("the bounds never fire on a healthy idle node", () => {
  it("a loop may idle at least a minute, and 3 resync periods", () => {
    for (const r of [1 * s, 10 * s, 300 * s, 3600 * s]) {
      const b = healthBounds(r);
      assert.ok(b.idleLoopMs >= 3 * r && b.idleLoopMs >= 60 * s, String(r));
    }
  });
  it("a watch may be silent for longer than the kernel takes to give up on a dead connection", () => {
    // cluster/kube-api.ts: the client gives up on a silent watch after watchIdleMs, and a failed
    // reopen waits at most 30 s; Linux gives up on a dead connection after ~924.6 s of
    // retransmissions (tcp_retries2 = 15).
    for (const r of [1 * s, 300 * s, 3600 * s]) {
      assert.ok(healthBounds(r).silentWatchMs > 925 * s + watchIdleMs + 30 * s);
    }
  });
});

describe("the reconcile loop's progress, on a hand-stepped clock", () => {
  it("records when a pass starts and ends, errors included, for the health check", async () => {
    let clock = 1000;
    const passes: { finish: () => void; fail: () => void }[] = [];
    const rl = new ReconcileLoop({
      resyncMs: 3_600_000,
      backoff: jitteredBackoff(3_600_000, 3_600_000),
      onError: () => undefined,
      now: () => clock,
      reconcile: () =>
        new Promise<void>((resolve, reject) => {
          passes.push({
            finish: resolve,
            fail: () => {
              reject(new Error("API down"));
            },
          });
        }),
    });
    const check = (): string | null =>
      stuckReason({ "policy loop": rl.progress() }, {}, clock, healthBounds(3_600_000));
    assert.deepEqual(rl.progress(), {
      startedAt: 1000,
      passStartedAt: null,
      lastPassEndedAt: null,
    });
    clock = 2000;
    rl.start();
    assert.deepEqual(rl.progress(), {
      startedAt: 2000,
      passStartedAt: 2000,
      lastPassEndedAt: null,
    });

    // A pass that hangs: healthy until the bound, stuck after it.
    clock = 2000 + 5 * min;
    assert.equal(check(), null);
    clock = 2000 + 5 * min + 1;
    assert.match(check() ?? "", /^policy loop: a pass has been running for 300 s/);

    // It ends with an error: the loop is alive (it retries with backoff), so healthy again.
    passes[0]?.fail();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(rl.progress(), {
      startedAt: 2000,
      passStartedAt: null,
      lastPassEndedAt: 2000 + 5 * min + 1,
    });
    assert.equal(check(), null);

    // The next pass (the watch marked it dirty) ends well.
    clock += 10 * s;
    rl.markDirty();
    assert.equal(rl.progress().passStartedAt, clock);
    assert.equal(passes.length, 2);
    passes[1]?.finish();
    await new Promise((r) => setImmediate(r));
    assert.equal(rl.progress().lastPassEndedAt, clock);
    assert.equal(rl.progress().passStartedAt, null);
    await rl.stop();
  });
});
