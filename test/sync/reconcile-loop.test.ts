/**
 * The level-triggered loop (installer/sync/reconcile-loop.ts) on node:test's fake timers, which
 * is what lets a test say "the resync fires after exactly resyncMs" or "the retry waits the
 * backoff's delay and no less": events mark dirty and coalesce, one pass at a time, a pass asked
 * for during a pass runs once after it, failures are retried with the jittered backoff of
 * sync/backoff.ts (made deterministic by its own `random` parameter), progress() for /healthz,
 * and stop() waiting for the pass under way. The passes are promises the test settles by hand.
 * How progress() reads to the health check is in health.test.ts. Each test has a timeout: a loop
 * that waits for a pass the test will never settle fails instead of hanging.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { jitteredBackoff } from "../../installer/sync/backoff.ts";
import { ReconcileLoop } from "../../installer/sync/reconcile-loop.ts";

/** Lets settled promises run their continuations (setImmediate is left real for this). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Pass {
  readonly startedAt: number;
  readonly finish: () => void;
  readonly fail: (err: Error) => void;
}

/** A loop whose passes wait for the test; `running` counts passes under way at once. */
function loopUnderTest(options: { resyncMs?: number; random?: () => number } = {}): {
  loop: ReconcileLoop;
  passes: Pass[];
  errors: unknown[];
  maxRunning: () => number;
} {
  const passes: Pass[] = [];
  const errors: unknown[] = [];
  let running = 0;
  let most = 0;
  const loop = new ReconcileLoop({
    resyncMs: options.resyncMs ?? 60_000,
    // 1 s doubling to 8 s; random 0 takes the lower end of each step: 500, 1000, 2000, 4000, 4000.
    backoff: jitteredBackoff(1000, 8000, options.random ?? ((): number => 0)),
    onError: (err) => errors.push(err),
    now: () => Date.now(),
    reconcile: () => {
      running++;
      most = Math.max(most, running);
      return new Promise<void>((resolve, reject) => {
        const done = (): void => {
          running--;
        };
        passes.push({
          startedAt: Date.now(),
          finish: () => {
            done();
            resolve();
          },
          fail: (err) => {
            done();
            reject(err);
          },
        });
      });
    },
  });
  return { loop, passes, errors, maxRunning: () => most };
}

/** Ends the latest pass and lets the loop move on. */
async function finishLast(passes: readonly Pass[], err?: Error): Promise<void> {
  const last = passes.at(-1);
  assert.ok(last, "no pass is running");
  if (err === undefined) last.finish();
  else last.fail(err);
  await settle();
}

/** Steps the clock 1 ms at a time until the next pass starts: the wait, exactly. */
async function msUntilNextPass(passes: readonly Pass[]): Promise<number> {
  const from = Date.now();
  const before = passes.length;
  while (passes.length === before) {
    assert.ok(Date.now() - from <= 60_000, "no pass came");
    mock.timers.tick(1);
    await settle();
  }
  return Date.now() - from;
}

describe("ReconcileLoop on fake timers", { timeout: 10_000 }, () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 1_000_000 });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  it("start() runs the first pass at once; nothing more until something marks it dirty", async () => {
    const { loop, passes } = loopUnderTest();
    assert.equal(passes.length, 0, "nothing before start()");
    loop.start();
    assert.equal(passes.length, 1);
    await finishLast(passes);
    mock.timers.tick(59_999);
    await settle();
    assert.equal(passes.length, 1, "an idle loop waits for an event or the resync");
    await loop.stop();
  });

  it("events during a pass coalesce: one more pass after it, not one per event", async () => {
    const { loop, passes, maxRunning } = loopUnderTest();
    loop.start();
    for (let i = 0; i < 5; i++) loop.markDirty();
    assert.equal(passes.length, 1, "no second pass while the first runs");
    mock.timers.tick(250);
    await finishLast(passes);
    assert.equal(passes.length, 2, "the events asked for one more pass");
    assert.equal(passes[1]?.startedAt, 1_000_250, "right after the first ended");
    loop.markDirty();
    await finishLast(passes);
    assert.equal(passes.length, 3, "an event during the second pass: a third");
    await finishLast(passes);
    assert.equal(passes.length, 3, "then quiet");
    assert.equal(maxRunning(), 1, "never two passes at once");
    await loop.stop();
  });

  it("an event while idle runs a pass at once; events after it are level, not queued", async () => {
    const { loop, passes } = loopUnderTest();
    loop.start();
    await finishLast(passes);
    loop.markDirty();
    assert.equal(passes.length, 2, "no timer in between");
    loop.markDirty();
    loop.markDirty();
    await finishLast(passes);
    await finishLast(passes);
    assert.equal(passes.length, 3);
    await loop.stop();
  });

  it("the resync runs a pass every resyncMs, whether or not anything happened", async () => {
    const { loop, passes } = loopUnderTest({ resyncMs: 60_000 });
    loop.start();
    await finishLast(passes);
    mock.timers.tick(59_999);
    assert.equal(passes.length, 1);
    mock.timers.tick(1);
    assert.equal(passes.length, 2, "at exactly resyncMs");
    assert.equal(passes[1]?.startedAt, 1_060_000);
    await finishLast(passes);
    mock.timers.tick(60_000);
    assert.equal(passes.length, 3, "and every period after");
    // A resync that fires during a pass coalesces like any event.
    mock.timers.tick(60_000);
    assert.equal(passes.length, 3);
    await finishLast(passes);
    assert.equal(passes.length, 4);
    await finishLast(passes);
    await loop.stop();
  });

  it("a failed pass is reported and retried after the backoff's delay, doubling to its cap", async () => {
    const { loop, passes, errors } = loopUnderTest({ resyncMs: 3_600_000 });
    loop.start();
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      await finishLast(passes, new Error(`API down ${String(i)}`));
      waits.push(await msUntilNextPass(passes));
    }
    assert.deepEqual(waits, [500, 1000, 2000, 4000, 4000]);
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ["API down 0", "API down 1", "API down 2", "API down 3", "API down 4"],
    );
    // A pass that works resets the backoff: the next failure waits the first step again.
    await finishLast(passes);
    loop.markDirty();
    await finishLast(passes, new Error("again"));
    assert.equal(await msUntilNextPass(passes), 500, "a success reset the backoff");
    await finishLast(passes);
    await loop.stop();
  });

  it("the jitter is drawn from the upper half of each step (random 1: the whole step)", async () => {
    const { loop, passes } = loopUnderTest({ resyncMs: 3_600_000, random: () => 1 });
    loop.start();
    await finishLast(passes, new Error("down"));
    assert.equal(await msUntilNextPass(passes), 1000, "the full first step");
    await finishLast(passes);
    await loop.stop();
  });

  it("an event during the backoff is not held back by it", async () => {
    const { loop, passes } = loopUnderTest({ resyncMs: 3_600_000 });
    loop.start();
    await finishLast(passes, new Error("down"));
    mock.timers.tick(100);
    loop.markDirty();
    assert.equal(passes.length, 2, "the watch saw a change: a pass now");
    await finishLast(passes);
    await loop.stop();
  });

  it("progress(): when the loop started, when the pass under way began, when the last ended", async () => {
    const { loop, passes } = loopUnderTest();
    assert.deepEqual(loop.progress(), {
      startedAt: 1_000_000,
      passStartedAt: null,
      lastPassEndedAt: null,
    });
    mock.timers.tick(5);
    loop.start();
    assert.deepEqual(loop.progress(), {
      startedAt: 1_000_005,
      passStartedAt: 1_000_005,
      lastPassEndedAt: null,
    });
    mock.timers.tick(20);
    loop.markDirty();
    await finishLast(passes, new Error("down"));
    // The failed pass ended at 1_000_025 and the coalesced one began at once.
    assert.deepEqual(loop.progress(), {
      startedAt: 1_000_005,
      passStartedAt: 1_000_025,
      lastPassEndedAt: 1_000_025,
    });
    mock.timers.tick(30);
    await finishLast(passes);
    assert.deepEqual(loop.progress(), {
      startedAt: 1_000_005,
      passStartedAt: null,
      lastPassEndedAt: 1_000_055,
    });
    await loop.stop();
  });

  it("stop() waits for the pass under way, then runs no other: not asked for, resync or retry", async () => {
    const { loop, passes } = loopUnderTest({ resyncMs: 60_000 });
    loop.start();
    loop.markDirty();
    let stopped = false;
    const stopping = loop.stop().then(() => {
      stopped = true;
    });
    await settle();
    assert.equal(stopped, false, "the pass under way is not abandoned");
    await finishLast(passes);
    await stopping;
    assert.equal(stopped, true);
    assert.equal(passes.length, 1, "the pass asked for during it does not run after stop()");
    loop.markDirty();
    mock.timers.tick(10 * 60_000);
    await settle();
    assert.equal(passes.length, 1, "no event, no resync after stop()");
    assert.equal(loop.progress().passStartedAt, null);
  });

  it("stop() during a backoff cancels the retry", async () => {
    const { loop, passes } = loopUnderTest({ resyncMs: 3_600_000 });
    loop.start();
    await finishLast(passes, new Error("down"));
    await loop.stop();
    mock.timers.tick(60_000);
    await settle();
    assert.equal(passes.length, 1);
  });

  it("idle() resolves once no pass is running or asked for", async () => {
    const { loop, passes } = loopUnderTest();
    loop.start();
    loop.markDirty();
    let idle = false;
    const waiting = loop.idle().then(() => {
      idle = true;
    });
    await finishLast(passes);
    assert.equal(idle, false, "the coalesced pass is still to come");
    await finishLast(passes);
    await waiting;
    assert.equal(idle, true);
    await loop.stop();
  });
});
