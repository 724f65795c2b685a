// The sync container's /healthz, /metrics against the real kube-apiserver, in-process so that the
// health check's clock can be stepped by hand: /healthz follows what the loops and watches really
// did; nodecred_config_applied_info follows the status file without anyone calling /readyz; a
// rejected Secret or ConfigMap version is counted once, however many passes see it.
import assert from "node:assert/strict";
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { kubeApi } from "../../installer/cluster/kube-api.ts";
import { checkConfigMapForRollout } from "../../installer/core/rollout/configmap-check.ts";
import { jsonLogger } from "../../installer/log.ts";
import { startSync, type SyncHandle } from "../../installer/sync/run.ts";
import {
  adminKubeConfig,
  appliedStatusFor,
  createInstalledNamespace,
  dockerConfigJsonSecret,
  dockerConfigSecret,
  eventually,
  inProcessSyncConfig,
  scratchDir,
  syncNode,
  type SyncNode,
} from "./cluster.ts";

const secretName = "nodecred-credentials";
const cmName = "nodecred-config";
const dataA = { matchImages: "registry.probes.test\n" };
const dataB = { matchImages: "registry.probes.test\n", defaultCacheDuration: "5m" };

function hashOf(data: Readonly<Record<string, string>>): string {
  const checked = checkConfigMapForRollout(data);
  assert.ok(checked.ok);
  return checked.value.hash;
}

/** A metric's value in the exposition text (0 when absent). */
function sample(metrics: string, name: string): number {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(" ").pop());
}

async function get(
  sync: SyncHandle,
  path: "/healthz" | "/metrics",
): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${String(sync.port)}${path}`);
  return { status: res.status, body: await res.text() };
}

describe("sync probes and metrics", { timeout: 120_000 }, () => {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const dir = scratchDir("probes");
  const started: SyncHandle[] = [];
  let logs = "";
  const log = jsonLogger((l) => (logs += l));

  /** A namespace with our Secret, ConfigMap (dataA) and a bare DaemonSet; its node. */
  const namespace = async (name: string): Promise<SyncNode> => {
    const secret = dockerConfigSecret(secretName, name, {
      "registry.probes.test": { username: "u", password: "probes-password-1" },
    });
    await createInstalledNamespace(admin, name, [secret], dataA);
    return syncNode(dir, name, dataA);
  };
  const nodes = new Map<string, SyncNode>();

  const start = async (ns: string, resyncMs: number, now?: () => number): Promise<SyncHandle> => {
    const node = nodes.get(ns);
    assert.ok(node);
    const config = inProcessSyncConfig(
      node,
      { namespace: ns, node: "node-a", pod: "pod-a" },
      resyncMs,
    );
    const sync = await startSync(config, kubeApi(admin), log, now === undefined ? {} : { now });
    started.push(sync);
    return sync;
  };

  const passes = async (sync: SyncHandle, loop: "policy" | "config"): Promise<number> =>
    sample(
      (await get(sync, "/metrics")).body,
      `nodecred_reconciles_total{loop="${loop}",result="ok"}`,
    );

  before(async () => {
    for (const ns of ["probes-health", "probes-metrics"]) nodes.set(ns, await namespace(ns));
  });

  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
    assert.ok(!logs.includes("probes-password"), "a password reached the logs");
  });

  it("/healthz fails for the loops and watches that stopped moving, and recovers with them", async () => {
    const ns = "probes-health";
    let clock = 0;
    // A resync far beyond the test: whatever moves here, a watch event made it move.
    const sync = await start(ns, 300_000, () => clock);
    // Both objects listed (the policy file needs both) and a config pass done; then nothing
    // changes in the cluster, so once the loops are idle nothing moves until the test says so.
    await eventually("the policy file and a config pass", async () =>
      existsSync(nodes.get(ns)?.policyFile ?? "") && (await passes(sync, "config")) >= 1
        ? true
        : undefined,
    );
    await sync.idle();
    assert.deepEqual(await get(sync, "/healthz"), { status: 200, body: "ok\n" });

    // 31 minutes on the health check's clock, and nothing happened in them.
    clock = 31 * 60_000;
    const stuck = await get(sync, "/healthz");
    assert.equal(stuck.status, 503);
    for (const what of [
      "policy loop: no pass ended in 1860 s (limit 900 s)",
      "config loop: no pass ended in 1860 s",
      `watch of the Secrets of ${ns}: nothing heard in 1860 s (limit 1800 s)`,
      `watch of ConfigMap ${cmName}: nothing heard in 1860 s`,
    ]) {
      assert.ok(stuck.body.includes(what), `${what} in ${stuck.body}`);
    }
    assert.equal(logs.split("\n").filter((l) => l.includes("stuck: /healthz fails")).length, 1);

    // A Secret update: its watch is heard and the policy loop runs; the rest is still stuck.
    await core.replaceNamespacedSecret({
      namespace: ns,
      name: secretName,
      body: dockerConfigSecret(secretName, ns, {
        "registry.probes.test": { username: "u", password: "probes-password-2" },
      }),
    });
    const partly = await eventually("the Secret's side healthy again", async () => {
      const r = await get(sync, "/healthz");
      return r.body.includes("policy loop") || r.body.includes("Secrets") ? undefined : r;
    });
    assert.equal(partly.status, 503);
    assert.match(partly.body, /config loop: no pass ended/);
    assert.match(partly.body, /watch of ConfigMap nodecred-config: nothing heard/);

    // A ConfigMap event moves the rest.
    await core.patchNamespacedConfigMap(
      { namespace: ns, name: cmName, body: { metadata: { annotations: { touched: "1" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await eventually("healthy again", async () => {
      const r = await get(sync, "/healthz");
      return r.status === 200 && r.body === "ok\n" ? true : undefined;
    });
  });

  it("nodecred_config_applied_info follows the status file without /readyz, and counts each rejected version once", async () => {
    const ns = "probes-metrics";
    const applied = nodes.get(ns)?.appliedStatusFile ?? "";
    const sync = await start(ns, 100);
    const info = (metrics: string): string[] =>
      metrics
        .split("\n")
        .filter((l) => l.startsWith("nodecred_config_applied_info{"))
        .sort();
    await eventually("the applied hash in the metrics", async () =>
      info((await get(sync, "/metrics")).body).length > 0 ? true : undefined,
    );
    assert.deepEqual(info((await get(sync, "/metrics")).body), [
      `nodecred_config_applied_info{hash="${hashOf(dataA)}"} 1`,
    ]);
    // A new pod's init container records another config (written atomically, as apply does).
    writeFileSync(`${applied}.tmp`, appliedStatusFor(dataB));
    renameSync(`${applied}.tmp`, applied);
    await eventually("the new hash, and only it", async () => {
      const lines = info((await get(sync, "/metrics")).body);
      return lines.length === 1 && lines[0]?.includes(hashOf(dataB)) === true ? true : undefined;
    });
    // No record at all: no hash claimed.
    renameSync(applied, `${applied}.gone`);
    await eventually("no applied hash", async () =>
      info((await get(sync, "/metrics")).body).length === 0 ? true : undefined,
    );

    // One malformed Secret version, seen by many passes (a resync every 100 ms).
    const rejected = async (name: string): Promise<number> =>
      sample((await get(sync, "/metrics")).body, name);
    /** A rejected version is counted, and five more passes of its loop do not count it again. */
    const countedOnce = async (
      what: string,
      metric: string,
      loop: "policy" | "config",
      before: number,
    ): Promise<void> => {
      await eventually(what, async () => ((await rejected(metric)) > before ? true : undefined));
      const from = await passes(sync, loop);
      await eventually(`five more ${loop} passes`, async () =>
        (await passes(sync, loop)) >= from + 5 ? true : undefined,
      );
      assert.equal(await rejected(metric), before + 1);
    };
    assert.equal(await rejected("nodecred_secret_rejected_total"), 0);
    await core.replaceNamespacedSecret({
      namespace: ns,
      name: secretName,
      body: dockerConfigJsonSecret(secretName, ns, '{"auths":{}}'),
    });
    await countedOnce("the Secret rejected", "nodecred_secret_rejected_total", "policy", 0);

    // The same for an invalid ConfigMap version, through the config loop.
    assert.equal(await rejected("nodecred_config_rejected_total"), 0);
    const invalid = { matchImages: "%invalid%\n" };
    await core.replaceNamespacedConfigMap({
      namespace: ns,
      name: cmName,
      body: { metadata: { name: cmName }, data: invalid },
    });
    await countedOnce("the ConfigMap rejected", "nodecred_config_rejected_total", "config", 0);

    // Another rejected version counts again: once.
    await core.replaceNamespacedConfigMap({
      namespace: ns,
      name: cmName,
      body: { metadata: { name: cmName }, data: { ...invalid, providerName: "Bad Name" } },
    });
    await countedOnce("the second version rejected", "nodecred_config_rejected_total", "config", 1);
    assert.equal(await rejected("nodecred_secret_rejected_total"), 1);
  });
});
