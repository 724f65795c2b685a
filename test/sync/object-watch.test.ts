/**
 * The kept watches (installer/sync/object-watch.ts: keepWatching, keepWatchingAll) on node:test's
 * fake timers: when a watch that ended is reopened (promptly after a clean close, after the
 * jittered backoff of sync/backoff.ts after an error, reset only by a working watch), what a
 * relist does to what is kept, deletions, progress() for /healthz, and stop().
 *
 * The KubeApi here is an in-memory fake of the interface in installer/cluster/kube-api.ts: the
 * test must control time (a real API server cannot be made to end a watch at a given fake
 * millisecond, nor a list to fail on cue). The real API server is behind the same interface in
 * sync.test.ts and scopes.test.ts; the collection's relist, late-event and no-change-relist rules
 * are walked through step by step in kept-collection.test.ts and not repeated here.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import type {
  ApiObject,
  CollectionCallbacks,
  KubeApi,
  WatchCallbacks,
} from "../../installer/cluster/kube-api.ts";
import { jitteredBackoff } from "../../installer/sync/backoff.ts";
import { keepWatching, keepWatchingAll } from "../../installer/sync/object-watch.ts";

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** One open attempt: its callbacks, and whether the keeper stopped its handle. */
interface Opened<C> {
  readonly callbacks: C;
  readonly at: number;
  stopped: boolean;
}

/**
 * Every watch the keeper opens, by shape. `refuse` makes the next open fail (a list that
 * fails); `hold` keeps the next open pending until the test releases it.
 */
class FakeApi {
  readonly single: Opened<WatchCallbacks>[] = [];
  readonly collections: Opened<CollectionCallbacks>[] = [];
  #refusal: Error | null = null;
  #held: (() => void) | null = null;
  #holdNext = false;

  refuse(err: Error): void {
    this.#refusal = err;
  }
  hold(): void {
    this.#holdNext = true;
  }
  release(): void {
    this.#held?.();
  }

  #open<C>(list: Opened<C>[], callbacks: C): Promise<{ stop(): void }> {
    if (this.#refusal !== null) {
      const err = this.#refusal;
      this.#refusal = null;
      return Promise.reject(err);
    }
    const opened: Opened<C> = { callbacks, at: Date.now(), stopped: false };
    list.push(opened);
    const handle = {
      stop: (): void => {
        opened.stopped = true;
      },
    };
    if (!this.#holdNext) return Promise.resolve(handle);
    this.#holdNext = false;
    return new Promise((resolve) => {
      this.#held = () => {
        resolve(handle);
      };
    });
  }

  readonly api: KubeApi = {
    watch: (kind, ref, callbacks) => {
      assert.deepEqual([kind, ref], ["secrets", { namespace: "nodecred", name: "creds" }]);
      return this.#open(this.single, callbacks);
    },
    watchCollection: (kind, namespace, callbacks) => {
      assert.deepEqual([kind, namespace], ["configmaps", "nodecred"]);
      return this.#open(this.collections, callbacks);
    },
    get: () => Promise.reject(new Error("not used")),
    podTemplateAnnotation: () => Promise.reject(new Error("not used")),
    annotatePodTemplate: () => Promise.reject(new Error("not used")),
    event: () => Promise.reject(new Error("not used")),
    writeLease: () => Promise.reject(new Error("not used")),
  };
}

const object = (
  name: string,
  resourceVersion: string,
  uid = `uid-${name}`,
): Record<string, unknown> => ({
  metadata: { name, namespace: "nodecred", uid, resourceVersion },
});
const version = (o: ApiObject | undefined): string | null | undefined =>
  o === undefined
    ? undefined
    : o === null
      ? null
      : (o["metadata"] as { resourceVersion: string }).resourceVersion;

/** A single-object keeper over the fake, counting changes and recording each error's delay. */
function keptSecret(random: () => number = () => 0): {
  fake: FakeApi;
  kept: ReturnType<typeof keepWatching>;
  changes: () => number;
  errors: [string, number][];
} {
  const fake = new FakeApi();
  const errors: [string, number][] = [];
  let changes = 0;
  const kept = keepWatching({
    api: fake.api,
    kind: "secrets",
    ref: { namespace: "nodecred", name: "creds" },
    // 1 s doubling to 8 s; random 0 takes the lower end of each step: 500, 1000, 2000, 4000, 4000.
    backoff: jitteredBackoff(1000, 8000, random),
    onChange: () => {
      changes++;
    },
    onError: (err, retryInMs) => errors.push([(err as Error).message, retryInMs]),
    now: () => Date.now(),
  });
  return { fake, kept, changes: () => changes, errors };
}

/** Steps the clock 1 ms at a time until `count` attempts exist; returns the time waited. */
async function waitForAttempt(attempts: readonly unknown[], count: number): Promise<number> {
  const from = Date.now();
  while (attempts.length < count) {
    assert.ok(Date.now() - from <= 60_000, "never reopened");
    mock.timers.tick(1);
    await settle();
  }
  return Date.now() - from;
}

describe("keepWatching (one object) on fake timers", { timeout: 10_000 }, () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 5_000 });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  it("opens at once; keeps the listed object, then every event; a deletion keeps null", () => {
    const { fake, kept, changes } = keptSecret();
    assert.equal(fake.single.length, 1, "opened without waiting for a timer");
    assert.equal(kept.current(), undefined, "nothing known before the first list");
    const w = fake.single[0];
    assert.ok(w);
    w.callbacks.onObject(object("creds", "1"), "list");
    assert.equal(version(kept.current()), "1");
    w.callbacks.onObject(object("creds", "2"), "watch");
    assert.equal(version(kept.current()), "2");
    w.callbacks.onObject(null, "watch");
    assert.equal(kept.current(), null, "deleted: known not to exist");
    assert.equal(changes(), 3);
    kept.stop();
  });

  it("a clean close (the server's timeout) reopens after 100 ms, without an error", async () => {
    const { fake, kept, errors } = keptSecret();
    await settle();
    fake.single[0]?.callbacks.onEnd(null);
    assert.equal(await waitForAttempt(fake.single, 2), 100);
    fake.single[1]?.callbacks.onEnd(undefined);
    assert.equal(await waitForAttempt(fake.single, 3), 100);
    assert.deepEqual(errors, []);
    kept.stop();
  });

  it("an error reopens after the backoff, doubling to its cap; only a watch event resets it", async () => {
    const { fake, kept, errors } = keptSecret();
    await settle();
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      fake.single[i]?.callbacks.onEnd(new Error(`410 Gone ${String(i)}`));
      waits.push(await waitForAttempt(fake.single, i + 2));
    }
    assert.deepEqual(waits, [500, 1000, 2000, 4000, 4000]);
    assert.deepEqual(
      errors.map(([, delay]) => delay),
      waits,
      "onError is told the delay it waits",
    );
    // A list alone is no proof the server is healthy: the next failure keeps backing off.
    fake.single[5]?.callbacks.onObject(object("creds", "1"), "list");
    fake.single[5]?.callbacks.onEnd(new Error("reset by peer"));
    assert.equal(await waitForAttempt(fake.single, 7), 4000);
    // A watch event is: the backoff starts over.
    fake.single[6]?.callbacks.onObject(object("creds", "1"), "list");
    fake.single[6]?.callbacks.onObject(object("creds", "2"), "watch");
    fake.single[6]?.callbacks.onEnd(new Error("reset by peer"));
    assert.equal(await waitForAttempt(fake.single, 8), 500);
    kept.stop();
  });

  it("the jitter comes from the backoff's random: 1 takes the whole step", async () => {
    const { fake, kept, errors } = keptSecret(() => 1);
    await settle();
    fake.single[0]?.callbacks.onEnd(new Error("down"));
    assert.equal(await waitForAttempt(fake.single, 2), 1000);
    assert.deepEqual(errors, [["down", 1000]]);
    kept.stop();
  });

  it("an open that fails (the list refused) is retried with the same backoff", async () => {
    const { fake, kept, errors } = keptSecret();
    await settle();
    fake.refuse(new Error("403 Forbidden"));
    fake.single[0]?.callbacks.onEnd(null);
    // The clean close waits 100 ms; the refused open then backs off 500 ms.
    assert.equal(await waitForAttempt(fake.single, 2), 600);
    assert.deepEqual(errors, [["403 Forbidden", 500]]);
    assert.equal(kept.current(), undefined, "still nothing listed");
    kept.stop();
  });

  it("each reopen lists again: the same version is no change, another is, and gone is null", async () => {
    const { fake, kept, changes } = keptSecret();
    await settle();
    fake.single[0]?.callbacks.onObject(object("creds", "7"), "list");
    const reopen = async (n: number, listed: ApiObject): Promise<void> => {
      fake.single[n - 1]?.callbacks.onEnd(null);
      await waitForAttempt(fake.single, n + 1);
      fake.single[n]?.callbacks.onObject(listed, "list");
    };
    await reopen(1, object("creds", "7"));
    assert.equal(changes(), 1, "as kept: no pass for a relist that finds nothing new");
    await reopen(2, object("creds", "8"));
    assert.equal(changes(), 2, "changed while no watch was open");
    await reopen(3, object("creds", "8", "another-uid"));
    assert.equal(changes(), 3, "deleted and created again under the same name: another uid");
    await reopen(4, null);
    assert.equal(kept.current(), null, "deleted while no watch was open");
    assert.equal(changes(), 4);
    kept.stop();
  });

  it("an ended attempt's late events are dropped, and do not count as heard", async () => {
    const { fake, kept, changes } = keptSecret();
    await settle();
    const first = fake.single[0];
    first?.callbacks.onObject(object("creds", "1"), "list");
    first?.callbacks.onEnd(new Error("reset"));
    const heard = kept.progress().lastHeardAt;
    mock.timers.tick(10);
    first?.callbacks.onObject(object("creds", "2"), "watch");
    first?.callbacks.onEnd(new Error("again"));
    assert.equal(version(kept.current()), "1");
    assert.equal(changes(), 1);
    assert.equal(kept.progress().lastHeardAt, heard);
    assert.equal(await waitForAttempt(fake.single, 2), 490, "one reopen, for the first end");
    kept.stop();
  });

  it("progress(): when keeping began, and the last object, end or failed attempt heard", async () => {
    const { fake, kept } = keptSecret();
    await settle();
    assert.deepEqual(kept.progress(), { startedAt: 5_000, lastHeardAt: null });
    mock.timers.tick(10);
    fake.single[0]?.callbacks.onObject(object("creds", "1"), "list");
    assert.deepEqual(kept.progress(), { startedAt: 5_000, lastHeardAt: 5_010 });
    mock.timers.tick(10);
    fake.single[0]?.callbacks.onObject(object("creds", "2"), "watch");
    assert.equal(kept.progress().lastHeardAt, 5_020);
    mock.timers.tick(10);
    fake.single[0]?.callbacks.onEnd(new Error("down"));
    assert.equal(kept.progress().lastHeardAt, 5_030, "an end is heard");
    fake.refuse(new Error("refused"));
    mock.timers.tick(500); // the reopen, 500 ms on, is refused
    await settle();
    assert.equal(kept.progress().lastHeardAt, 5_530, "a failed open is heard too");
    kept.stop();
  });

  it("stop() ends the open watch, and nothing reopens after it", async () => {
    const { fake, kept } = keptSecret();
    await settle();
    kept.stop();
    const [only] = fake.single;
    assert.ok(only);
    assert.equal(only.stopped, true);
    only.callbacks.onEnd(null);
    mock.timers.tick(60_000);
    await settle();
    assert.equal(fake.single.length, 1);
  });

  it("stop() during a backoff cancels the reopen", async () => {
    const { fake, kept } = keptSecret();
    await settle();
    fake.single[0]?.callbacks.onEnd(new Error("down"));
    mock.timers.tick(100);
    kept.stop();
    mock.timers.tick(60_000);
    await settle();
    assert.equal(fake.single.length, 1);
  });

  it("stop() while a watch is still opening: the handle it gets is stopped at once", async () => {
    const fakeFirst = new FakeApi();
    fakeFirst.hold();
    const kept = keepWatching({
      api: fakeFirst.api,
      kind: "secrets",
      ref: { namespace: "nodecred", name: "creds" },
      backoff: jitteredBackoff(1000, 8000, () => 0),
      onChange: () => undefined,
      onError: () => undefined,
    });
    kept.stop();
    const [opening] = fakeFirst.single;
    assert.ok(opening);
    assert.equal(opening.stopped, false);
    fakeFirst.release();
    await settle();
    assert.equal(opening.stopped, true);
  });
});

describe("keepWatchingAll (a namespace's objects) on fake timers", { timeout: 10_000 }, () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  function keptConfigMaps(): {
    fake: FakeApi;
    kept: ReturnType<typeof keepWatchingAll>;
    changes: () => number;
  } {
    const fake = new FakeApi();
    let changes = 0;
    const kept = keepWatchingAll({
      api: fake.api,
      kind: "configmaps",
      namespace: "nodecred",
      backoff: jitteredBackoff(1000, 8000, () => 0),
      onChange: () => {
        changes++;
      },
      onError: () => undefined,
      now: () => Date.now(),
    });
    return { fake, kept, changes: () => changes };
  }
  const names = (kept: ReturnType<typeof keepWatchingAll>): string[] => [
    ...(kept.current()?.keys() ?? []),
  ];

  it("the same reopen timing as one object: 100 ms after a close, the backoff after errors", async () => {
    const { fake, kept } = keptConfigMaps();
    await settle();
    fake.collections[0]?.callbacks.onEnd(null);
    assert.equal(await waitForAttempt(fake.collections, 2), 100);
    fake.collections[1]?.callbacks.onEnd(new Error("500"));
    assert.equal(await waitForAttempt(fake.collections, 3), 500);
    // The list does not reset the backoff, a watch event does.
    fake.collections[2]?.callbacks.onList([object("a", "1")]);
    fake.collections[2]?.callbacks.onEnd(new Error("500"));
    assert.equal(await waitForAttempt(fake.collections, 4), 1000);
    fake.collections[3]?.callbacks.onList([object("a", "1")]);
    fake.collections[3]?.callbacks.onChange("a", object("a", "2"));
    fake.collections[3]?.callbacks.onEnd(new Error("500"));
    assert.equal(await waitForAttempt(fake.collections, 5), 500);
    kept.stop();
    assert.equal(fake.collections[4]?.stopped, true);
  });

  it("a relist after a reopen replaces the map wholesale; a watch deletion takes one out", async () => {
    const { fake, kept, changes } = keptConfigMaps();
    await settle();
    fake.collections[0]?.callbacks.onList([object("a", "1"), object("b", "1")]);
    fake.collections[0]?.callbacks.onChange("b", null);
    assert.deepEqual(names(kept), ["a"]);
    fake.collections[0]?.callbacks.onEnd(new Error("410 Gone"));
    await waitForAttempt(fake.collections, 2);
    fake.collections[1]?.callbacks.onList([object("c", "1")]);
    assert.deepEqual(names(kept), ["c"], "a went while no watch was open: gone from the map");
    assert.equal(changes(), 3);
    assert.equal(kept.progress().lastHeardAt, 500);
    kept.stop();
  });
});
