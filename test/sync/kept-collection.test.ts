// The kept list+watch of every Secret of nodecred's namespace (installer/sync/object-watch.ts,
// keepWatchingAll), driven step by step: what it keeps across events, ends and relists. The real
// API server is behind the same interface in sync.test.ts and scopes.test.ts; here the order of
// events that a real one produces only by chance (a deletion while no watch is open, an event of
// a watch that already ended) is scripted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CollectionCallbacks, KubeApi } from "../../installer/cluster/kube-api.ts";
import { keepWatchingAll } from "../../installer/sync/object-watch.ts";
import { scriptedKubeApi } from "./scripted-api.ts";

const secret = (name: string, resourceVersion: string): Record<string, unknown> => ({
  metadata: { name, namespace: "nodecred", resourceVersion },
  type: "kubernetes.io/dockerconfigjson",
});

/** A KubeApi whose collection watches the test opens and ends by hand. */
function scriptedApi(): {
  api: KubeApi;
  attempts: { callbacks: CollectionCallbacks; stopped: boolean }[];
  failNext: (err: Error) => void;
} {
  const attempts: { callbacks: CollectionCallbacks; stopped: boolean }[] = [];
  let failure: Error | null = null;
  const api = scriptedKubeApi({
    watchCollection: (kind, namespace, callbacks) => {
      assert.equal(kind, "secrets");
      assert.equal(namespace, "nodecred");
      if (failure !== null) {
        const err = failure;
        failure = null;
        return Promise.reject(err);
      }
      const attempt = { callbacks, stopped: false };
      attempts.push(attempt);
      return Promise.resolve({
        stop: () => {
          attempt.stopped = true;
        },
      });
    },
  });
  return {
    api,
    attempts,
    failNext: (err) => {
      failure = err;
    },
  };
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("keepWatchingAll: every Secret of the namespace, one list+watch", () => {
  it("keeps the listed objects, follows events, and replaces everything on a relist", async () => {
    const { api, attempts } = scriptedApi();
    let clock = 0;
    let changes = 0;
    const errors: unknown[] = [];
    let resets = 0;
    const kept = keepWatchingAll({
      api,
      kind: "secrets",
      namespace: "nodecred",
      backoff: {
        next: () => 5,
        reset: () => {
          resets++;
        },
      },
      onChange: () => {
        changes++;
      },
      onError: (err) => errors.push(err),
      now: () => clock,
    });
    try {
      await tick();
      assert.equal(kept.current(), undefined, "nothing before the first list");
      assert.deepEqual(kept.progress(), { startedAt: 0, lastHeardAt: null });
      const first = attempts[0];
      assert.ok(first);

      clock = 10;
      first.callbacks.onList([secret("nodecred-credentials", "1"), secret("team-a", "2")]);
      assert.deepEqual([...(kept.current()?.keys() ?? [])], ["nodecred-credentials", "team-a"]);
      assert.equal(changes, 1);
      assert.equal(resets, 0, "a list alone proves nothing about the watch");
      assert.deepEqual(kept.progress(), { startedAt: 0, lastHeardAt: 10 });

      const before = kept.current();
      clock = 20;
      first.callbacks.onChange("team-b", secret("team-b", "3"));
      first.callbacks.onChange("team-a", secret("team-a", "4"));
      first.callbacks.onChange("nodecred-credentials", null);
      assert.equal(changes, 4);
      assert.equal(resets, 3);
      assert.deepEqual(
        [...(kept.current() ?? [])].map(([name, obj]) => [
          name,
          (obj["metadata"] as { resourceVersion: string }).resourceVersion,
        ]),
        [
          ["team-a", "4"],
          ["team-b", "3"],
        ],
      );
      // A pass that holds the map it read sees one consistent state, whatever comes after.
      assert.deepEqual([...(before?.keys() ?? [])], ["nodecred-credentials", "team-a"]);

      // The watch breaks; team-b is deleted before the next one opens: the relist has no team-b,
      // and neither has the kept map (no DELETED event will ever say so).
      clock = 30;
      first.callbacks.onEnd(new Error("connection reset"));
      assert.equal(errors.length, 1);
      assert.deepEqual(kept.progress(), { startedAt: 0, lastHeardAt: 30 });
      await tick(20);
      const second = attempts[1];
      assert.ok(second, "reopened after the backoff");
      second.callbacks.onList([secret("team-a", "4"), secret("team-c", "6")]);
      assert.deepEqual([...(kept.current()?.keys() ?? [])], ["team-a", "team-c"]);

      // A late event of the watch that ended is not taken.
      first.callbacks.onChange("team-b", secret("team-b", "5"));
      first.callbacks.onList([secret("old", "1")]);
      assert.deepEqual([...(kept.current()?.keys() ?? [])], ["team-a", "team-c"]);

      // A clean close (the server's timeout) reopens promptly, without an error.
      second.callbacks.onEnd(null);
      await tick(150);
      assert.equal(errors.length, 1);
      assert.equal(attempts.length, 3);
      // Its relist finds every object as kept: no change, no pass (a fleet relists every few
      // minutes); a relist with one object at another version is one.
      const changesBefore: number = changes;
      const changesNow = (): number => changes;
      attempts[2]?.callbacks.onList([secret("team-a", "4"), secret("team-c", "6")]);
      assert.equal(changesNow(), changesBefore, "the same versions: no change");
      attempts[2]?.callbacks.onEnd(null);
      await tick(150);
      attempts[3]?.callbacks.onList([secret("team-a", "4"), secret("team-c", "7")]);
      assert.equal(changesNow(), changesBefore + 1, "team-c changed while no watch was open");
      attempts[3]?.callbacks.onEnd(null);
      await tick(150);
      attempts[4]?.callbacks.onList([secret("team-a", "4")]);
      assert.equal(changesNow(), changesBefore + 2, "team-c deleted while no watch was open");
    } finally {
      kept.stop();
    }
    assert.equal(attempts.at(-1)?.stopped, true, "stop() ends the open watch");
  });

  it("retries a list that fails, with backoff, and reports each failure", async () => {
    const { api, attempts, failNext } = scriptedApi();
    const errors: string[] = [];
    failNext(new Error("403 Forbidden"));
    const kept = keepWatchingAll({
      api,
      kind: "secrets",
      namespace: "nodecred",
      backoff: { next: () => 5, reset: () => undefined },
      onChange: () => undefined,
      onError: (err) => errors.push(err instanceof Error ? err.message : String(err)),
    });
    try {
      await tick(30);
      assert.deepEqual(errors, ["403 Forbidden"]);
      assert.equal(attempts.length, 1, "the second attempt opened");
      assert.equal(kept.current(), undefined);
      assert.notEqual(kept.progress().lastHeardAt, null, "a failed attempt counts as heard");
    } finally {
      kept.stop();
    }
  });
});
