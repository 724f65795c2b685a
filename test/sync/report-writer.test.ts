// The node report's writer (installer/sync/report-writer.ts) against a scripted KubeApi: what it
// sends while a write is under way, after a refused write, and when nothing changed. A real API
// server refuses writes (429) only under a load no test should make; the bench (scripts/bench-fleet)
// shows it at 500 nodes, and test/sync/sync.test.ts shows the Lease against the real one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeApi } from "../../installer/cluster/kube-api.ts";
import type { LeaseWrite, NodeReport } from "../../installer/core/report/node-report.ts";
import { reportWriter } from "../../installer/sync/report-writer.ts";
import { scriptedKubeApi } from "./scripted-api.ts";

const report = (credentialsVersion: string): NodeReport => ({
  state: "current",
  configVersion: "1",
  credentialsVersion,
  kubeletConfig: "k",
  credentialSets: {},
});
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A KubeApi whose Lease writes wait until the test answers them. */
function scriptedApi(): {
  api: KubeApi;
  writes: { write: LeaseWrite; answer: (err?: Error) => void }[];
} {
  const writes: { write: LeaseWrite; answer: (err?: Error) => void }[] = [];
  const api = scriptedKubeApi({
    writeLease: (_ref, write) =>
      new Promise((resolve, reject) => {
        writes.push({
          write,
          answer: (err) => {
            if (err === undefined) resolve();
            else reject(err);
          },
        });
      }),
  });
  return { api, writes };
}

const labelsOf = (w: LeaseWrite | undefined): Record<string, unknown> =>
  (w?.patch["metadata"] as { labels?: Record<string, unknown> }).labels ?? {};

describe("the node report writer", () => {
  it("sends one write at a time, only the latest report, nothing when nothing changed", async () => {
    const { api, writes } = scriptedApi();
    let written = 0;
    const writer = reportWriter({
      api,
      namespace: "nodecred",
      reporter: { nodeName: "node-1", podName: "pod-1", podUid: "" },
      backoff: { next: () => 5, reset: () => undefined },
      onWritten: () => written++,
      onError: () => assert.fail("no error here"),
    });
    writer.offer(report("1"));
    writer.offer(report("2"));
    writer.offer(report("3"));
    assert.equal(writes.length, 1, "one write under way");
    writes[0]?.answer();
    await tick();
    assert.equal(writes.length, 2, "then the latest, not each one offered");
    assert.equal(labelsOf(writes[1]?.write)["nodecred.io/credentials-version"], "3");
    writes[1]?.answer();
    await writer.idle();
    writer.offer(report("3"));
    await tick();
    assert.equal(writes.length, 2, "the same report again: no request");
    assert.equal(written, 2);
    await writer.stop();
  });

  it("retries a refused write after its backoff, with the latest report", async () => {
    const { api, writes } = scriptedApi();
    const errors: number[] = [];
    let resets = 0;
    const writer = reportWriter({
      api,
      namespace: "nodecred",
      reporter: { nodeName: "node-1", podName: "pod-1", podUid: "" },
      backoff: {
        next: () => 20,
        reset: () => {
          resets++;
        },
      },
      onWritten: () => undefined,
      onError: (_err, retryInMs) => errors.push(retryInMs),
    });
    writer.offer(report("1"));
    writes[0]?.answer(new Error("429 Too Many Requests"));
    await tick();
    assert.deepEqual(errors, [20]);
    writer.offer(report("2"));
    await tick();
    assert.equal(writes.length, 1, "waits for the backoff, even with a new report");
    const idle = writer.idle();
    await tick(40);
    assert.equal(writes.length, 2, "retried");
    const retried = writes[1]?.write;
    assert.equal(labelsOf(retried)["nodecred.io/credentials-version"], "2");
    assert.equal(
      labelsOf(retried)["nodecred.io/state"],
      "current",
      "the whole report: nothing was written",
    );
    writes[1]?.answer();
    await idle;
    assert.equal(resets, 1, "a write that went through resets the backoff");
    await writer.stop();
  });
});
