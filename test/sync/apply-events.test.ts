// `apply --events` (the init container) records what it did on the Pod and the Node through the
// real API server, as the manifests' ServiceAccount: an install, nothing for an unchanged node,
// a failure.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { CoreV1Api, type CoreV1Event } from "@kubernetes/client-node";
import { applyArgs, inputTree, listCases } from "../installer/golden.ts";
import {
  adminKubeConfig,
  kubectl,
  repoRoot,
  scratchDir,
  serviceAccountKubeconfig,
} from "./cluster.ts";

const installer = join(repoRoot, "installer", "main.ts");

function apply(
  args: readonly string[],
  pod: string,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [installer, ...args], {
      env: { POD_NAMESPACE: "nodecred", POD_NAME: pod, NODE_NAME: `node-of-${pod}` },
    });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("exit", (code) => {
      resolve({ code, stderr });
    });
  });
}

describe("apply --events", () => {
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  let kubeconfig = "";
  const about = async (name: string): Promise<CoreV1Event[]> =>
    [
      ...(await core.listNamespacedEvent({ namespace: "nodecred" })).items,
      ...(await core.listNamespacedEvent({ namespace: "default" })).items,
    ].filter((e) => e.involvedObject.name === name || e.involvedObject.name === `node-of-${name}`);

  before(async () => {
    await kubectl(["apply", "-k", join(repoRoot, "manifests")]);
    kubeconfig = await serviceAccountKubeconfig(scratchDir("apply-events"), "nodecred", "nodecred");
  });

  it("records an install on the Pod and the Node, and nothing when nothing changed", async () => {
    const c = (await listCases()).find((x) => x.name === "kubeadm-rpm-single-quoted-duplicates");
    assert.ok(c);
    const root = await inputTree(c);
    const args = applyArgs(c, root, ["--events", "--kubeconfig", kubeconfig]);
    const first = await apply(args, "pod-events-1");
    assert.equal(first.code, 0, first.stderr);
    const events = await about("pod-events-1");
    assert.deepEqual(events.map((e) => [e.involvedObject.kind, e.reason, e.type]).sort(), [
      ["Node", "Installed", "Normal"],
      ["Pod", "Installed", "Normal"],
    ]);
    assert.match(events[0]?.message ?? "", /config [0-9a-f]{16} installed/);
    const second = await apply(args, "pod-events-1");
    assert.equal(second.code, 0, second.stderr);
    assert.equal((await about("pod-events-1")).length, 2);
  });

  // With --expect-config-hash a failed apply also compares the ConfigMap with the DaemonSet
  // (follow-config.ts; the patch itself is exercised by test/e2e step 5). Here it names a ConfigMap
  // the Role does not grant, so that this test never patches the DaemonSet the sync tests watch:
  // the comparison fails, is logged, and the apply's own error stands.
  it("records a failure as a Warning with its code", async () => {
    const c = (await listCases()).find((x) => x.name === "kubeadm-rpm-single-quoted-duplicates");
    assert.ok(c);
    const root = await inputTree(c);
    const args = applyArgs(c, root, [
      "--events",
      "--kubeconfig",
      kubeconfig,
      "--expect-config-hash",
      "ffffffffffffffff",
      "--configmap-name",
      "not-granted",
    ]);
    const r = await apply(args, "pod-events-2");
    assert.equal(r.code, 10);
    assert.match(r.stderr, /could not compare the ConfigMap with the DaemonSet/);
    const events = await about("pod-events-2");
    assert.equal(events.length, 2);
    for (const e of events) {
      assert.equal(e.type, "Warning");
      assert.equal(e.reason, "ApplyFailed");
      assert.match(e.message ?? "", /^CONFIG_NOT_CURRENT: /);
    }
  });
});
