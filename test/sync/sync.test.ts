// The sync container (`nodecred-installer run`) against the real kube-apiserver, authenticated as
// the ServiceAccount of manifests/ with exactly the RBAC of manifests/ (the real authorizer
// decides): credentials rotation and live matchImages edits to the node's policy file, malformed
// Secrets, ConfigMap → DaemonSet rollout trigger only for what the kubelet reads, Events, least
// privilege (read-only on the namespace's Secrets, which it lists and watches as one collection),
// metrics/readiness, SIGTERM, no secrets in logs, each node's report (its Lease, written only when
// what it says changes). Credential sets: scopes.test.ts.
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
} from "@kubernetes/client-node";
import { parse as parseYaml } from "yaml";
import { checkConfigMapForRollout } from "../../installer/core/rollout/configmap-check.ts";
import { formatPolicy } from "../../provider/core/policy.ts";
import { testEnv } from "../env/index.ts";
import {
  adminKubeConfig,
  apiStatus,
  appliedStatusFor,
  dockerConfigJsonSecret,
  dockerConfigSecret,
  eventually,
  kubectl,
  nodeReportOf,
  policyFileOf,
  repoRoot,
  scratchDir,
  serviceAccountKubeconfig,
  startSyncProcess,
  type SyncProcess,
} from "./cluster.ts";

const ns = "nodecred";
const secretName = "nodecred-credentials";
const cmName = "nodecred-config";
const policyPath = "etc/nodecred/credentials/policy.json";
const syncUser = { uid: 65532, gid: 65532 };
const passwords = ["first-password-Zq1", "rotated-password-Xw2", "another-password-Yv3"];

function fileAuths(hostRoot: string): Record<string, { username: string; password: string }> {
  return policyFileOf(hostRoot).auths;
}

/** The ConfigMap data manifests/ ships: what both nodes run (their apply status says so). */
const shippedData = (
  parseYaml(readFileSync(join(repoRoot, "manifests/configmap.yaml"), "utf8")) as {
    data: Record<string, string>;
  }
).data;

function counter(metrics: string, name: string): number {
  const line = metrics.split("\n").find((l) => l.startsWith(name));
  return line === undefined ? 0 : Number(line.split(" ").pop());
}

/** A node report's labels (its Lease's), or undefined while there is none. */
async function reportLabels(node: string): Promise<Record<string, string> | undefined> {
  return (await nodeReportOf(ns, node))?.metadata?.labels;
}

describe("sync with the ServiceAccount and RBAC of manifests/", { timeout: 180_000 }, () => {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const apps = admin.makeApiClient(AppsV1Api);
  const dir = scratchDir("sync");
  const hostA = join(dir, "node-a");
  const hostB = join(dir, "node-b");
  let saKubeconfig = "";
  let syncA: SyncProcess;
  let syncB: SyncProcess;
  /** The Pod object node A's sync stands for (nothing runs it): the owner of its report. */
  let podAUid = "";
  const registry = "registry.sync.test";

  const secretEvents = async (reason: string): Promise<CoreV1Event[]> =>
    (await core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.reason === reason);
  /** The Event of this reason, once there is one: only one for the cluster, whatever each node saw. */
  const theEvent = async (reason: string, message?: string): Promise<CoreV1Event> => {
    const events = await eventually(`${reason} event`, async () => {
      const list = await secretEvents(reason);
      return list.length > 0 ? list : undefined;
    });
    assert.equal(events.length, 1, message);
    const [event] = events;
    assert.ok(event);
    return event;
  };
  const dsGeneration = async (): Promise<number> =>
    (await apps.readNamespacedDaemonSet({ namespace: ns, name: "nodecred" })).metadata
      ?.generation ?? 0;
  const dsHash = async (): Promise<string | undefined> =>
    (await apps.readNamespacedDaemonSet({ namespace: ns, name: "nodecred" })).spec?.template
      .metadata?.annotations?.["nodecred.io/kubelet-config-hash"];

  before(async () => {
    await kubectl(["apply", "-k", join(repoRoot, "manifests")]);
    await core.createNamespacedSecret({
      namespace: ns,
      body: dockerConfigSecret(secretName, ns, {
        [registry]: { username: "user", password: passwords[0] ?? "" },
      }),
    });
    saKubeconfig = await serviceAccountKubeconfig(dir, ns, "nodecred");
    // The sync container runs as 65532 (manifests/daemonset.yaml). Its directory is as the
    // kubelet creates a DirectoryOrCreate hostPath (0755), handed to that user by apply
    // (--credentials-owner). Everything it reads must be reachable for that user here too.
    for (const host of [hostA, hostB]) {
      mkdirSync(join(host, "etc/nodecred/credentials"), { recursive: true, mode: 0o755 });
      chownSync(join(host, "etc/nodecred/credentials"), syncUser.uid, syncUser.gid);
    }
    for (const d of [testEnv().workDir, dir]) chmodSync(d, 0o711);
    chownSync(saKubeconfig, syncUser.uid, syncUser.gid);
    // Both nodes run the shipped config (as their apply init container recorded it).
    const applied = join(dir, "applied.json");
    writeFileSync(applied, appliedStatusFor(shippedData), { mode: 0o644 });
    const common = [
      `--applied-status-file=${applied}`,
      `--kubeconfig=${saKubeconfig}`,
      `--namespace=${ns}`,
      "--kubelet-healthz-url=",
      "--resync=300",
    ];
    const podA = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "pod-a" },
        spec: {
          serviceAccountName: "nodecred",
          automountServiceAccountToken: false,
          containers: [{ name: "sync", image: "nodecred/nodecred:0.1.0" }],
        },
      },
    });
    podAUid = podA.metadata?.uid ?? "";
    syncA = await startSyncProcess(
      [...common, `--host-root=${hostA}`, "--node=node-a", "--pod=pod-a"],
      syncUser,
      { POD_UID: podAUid },
    );
    syncB = await startSyncProcess(
      [...common, `--host-root=${hostB}`, "--node=node-b", "--pod=pod-b"],
      syncUser,
    );
  });

  after(async () => {
    const codes = await Promise.all([syncA.stop(), syncB.stop()]);
    // SIGTERM: the pass under way finishes and the process exits cleanly.
    assert.deepEqual(codes, [0, 0]);
    const logs = syncA.logs() + syncB.logs();
    for (const pw of passwords) {
      assert.ok(!logs.includes(pw), "a password reached the logs");
      assert.ok(
        !logs.includes(Buffer.from(`user:${pw}`).toString("base64")),
        "base64 creds in logs",
      );
    }
    assert.match(logs, /"msg":"sync stopped"/);
    // The reports hold versions and states, nothing from a Secret's data.
    const reports = JSON.stringify(
      await Promise.all(["node-a", "node-b"].map((n) => nodeReportOf(ns, n))),
    );
    assert.match(reports, /nodecred\.io\/credentials-version/);
    for (const pw of passwords) {
      assert.ok(!reports.includes(pw), "a password reached a node report");
      assert.ok(!reports.includes(Buffer.from(`user:${pw}`).toString("base64")));
    }
    assert.doesNotMatch(reports, /registry\.sync\.test|"user"/);
  });

  it("writes the Secret's credentials to a root-only host file on every node", async () => {
    for (const host of [hostA, hostB]) {
      const auths = await eventually("credentials file", () => {
        try {
          return fileAuths(host);
        } catch {
          return undefined;
        }
      });
      assert.deepEqual(auths, { [registry]: { password: passwords[0], username: "user" } });
      assert.deepEqual(
        policyFileOf(host).matchImages,
        (shippedData["matchImages"] ?? "").trim().split("\n"),
        "the ConfigMap's rules, in the same file",
      );
      assert.equal(statSync(join(host, policyPath)).mode & 0o777, 0o600);
      assert.equal(statSync(join(host, policyPath)).uid, syncUser.uid, "written as non-root");
      assert.equal(statSync(join(host, "etc/nodecred/credentials")).mode & 0o777, 0o700);
    }
    assert.equal((await syncA.readyz()).status, 200);
  });

  it("reports each node's state once, in a Lease named after the node", async () => {
    const secretVersion = (await core.readNamespacedSecret({ namespace: ns, name: secretName }))
      .metadata?.resourceVersion;
    const configVersion = (await core.readNamespacedConfigMap({ namespace: ns, name: cmName }))
      .metadata?.resourceVersion;
    const kubeletConfig = checkConfigMapForRollout(shippedData);
    assert.ok(kubeletConfig.ok);
    for (const node of ["node-a", "node-b"]) {
      // Node A's /readyz was asked (the first test): its answer is in the report; nobody asked
      // node B's, which says nothing about readiness.
      const probed = node === "node-a";
      const labels = await eventually(`${node}'s report`, async () => {
        const l = await reportLabels(node);
        return l !== undefined && (!probed || l["nodecred.io/ready"] !== undefined) ? l : undefined;
      });
      assert.deepEqual(labels, {
        "app.kubernetes.io/name": "nodecred",
        "nodecred.io/node": node,
        "nodecred.io/config-version": configVersion,
        "nodecred.io/credentials-version": secretVersion,
        "nodecred.io/kubelet-config": kubeletConfig.value.hash,
        "nodecred.io/state": "current",
        ...(probed ? { "nodecred.io/ready": "true" } : {}),
      });
    }
    const a = await nodeReportOf(ns, "node-a");
    assert.equal(a?.spec?.holderIdentity, "pod-a");
    assert.deepEqual(
      a.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
      [["Pod", "pod-a", podAUid]],
      "removed with its pod (POD_UID)",
    );
    assert.equal(
      (await nodeReportOf(ns, "node-b"))?.metadata?.ownerReferences,
      undefined,
      "no POD_UID: no owner",
    );
    // The fleet view: one list with a label selector.
    const holding = await kubectl([
      "get",
      "leases",
      "-n",
      ns,
      "-l",
      `app.kubernetes.io/name=nodecred,nodecred.io/credentials-version=${secretVersion ?? ""}`,
      "-o",
      "name",
    ]);
    assert.deepEqual(holding.trim().split("\n").sort(), [
      "lease.coordination.k8s.io/node-a",
      "lease.coordination.k8s.io/node-b",
    ]);

    // Passes with nothing new for the file send nothing: neither node writes its report again.
    const writes = counter(await syncA.metrics(), "nodecred_node_report_writes_total");
    const writesB = counter(await syncB.metrics(), "nodecred_node_report_writes_total");
    assert.ok(writes >= 1);
    const leaseVersions = async (): Promise<(string | undefined)[]> =>
      Promise.all(
        ["node-a", "node-b"].map(
          async (n) => (await nodeReportOf(ns, n))?.metadata?.resourceVersion,
        ),
      );
    const before = await leaseVersions();
    const passes = counter(await syncA.metrics(), 'nodecred_reconciles_total{loop="policy"');
    const passesB = counter(await syncB.metrics(), 'nodecred_reconciles_total{loop="policy"');
    for (const [i, value] of ["1", "2"].entries()) {
      // A change to a Secret no node uses: one policy pass on each node, the file as it was.
      const body = { metadata: { name: "unused", namespace: ns }, stringData: { n: value } };
      if (i === 0) await core.createNamespacedSecret({ namespace: ns, body });
      else await core.replaceNamespacedSecret({ namespace: ns, name: "unused", body });
      await eventually("a policy pass on each node", async () =>
        counter(await syncA.metrics(), 'nodecred_reconciles_total{loop="policy"') > passes + i &&
        counter(await syncB.metrics(), 'nodecred_reconciles_total{loop="policy"') > passesB + i
          ? true
          : undefined,
      );
    }
    await new Promise((r) => setTimeout(r, 500)); // a write would have been sent by now
    assert.equal(counter(await syncA.metrics(), "nodecred_node_report_writes_total"), writes);
    assert.equal(counter(await syncB.metrics(), "nodecred_node_report_writes_total"), writesB);
    assert.deepEqual(await leaseVersions(), before, "no write reached the API server");
    await core.deleteNamespacedSecret({ namespace: ns, name: "unused" });
  });

  it("rotates: a Secret update reaches every node's file, no restart involved", async () => {
    const writes = counter(await syncA.metrics(), "nodecred_node_report_writes_total");
    const rotated = await core.replaceNamespacedSecret({
      namespace: ns,
      name: secretName,
      body: dockerConfigSecret(secretName, ns, {
        [registry]: { username: "user", password: passwords[1] ?? "" },
      }),
    });
    for (const host of [hostA, hostB]) {
      await eventually("rotated file", () =>
        fileAuths(host)[registry]?.password === passwords[1] ? true : undefined,
      );
    }
    assert.ok(counter(await syncA.metrics(), "nodecred_credentials_rotations_total") >= 2);
    // Each node's report moves to the new version: one write per node, no Event.
    for (const node of ["node-a", "node-b"]) {
      await eventually(`${node}'s report of the new version`, async () =>
        (await reportLabels(node))?.["nodecred.io/credentials-version"] ===
        rotated.metadata?.resourceVersion
          ? true
          : undefined,
      );
    }
    assert.equal(counter(await syncA.metrics(), "nodecred_node_report_writes_total"), writes + 1);
    assert.deepEqual(
      await secretEvents("CredentialsUpdated"),
      [],
      "no Event per node and rotation",
    );
  });

  it("keeps credentials in step when the ConfigMap cannot be read (configMapGenerator names)", async () => {
    // With a kustomize configMapGenerator the Role grants the hashed name, not the plain one the
    // sync watches: the rules stay as apply wrote them (from the mounted ConfigMap), the
    // credentials still follow the Secret.
    const hostC = join(dir, "node-c");
    mkdirSync(join(hostC, "etc/nodecred/credentials"), { recursive: true, mode: 0o755 });
    chmodSync(join(hostC, "etc/nodecred/credentials"), 0o700);
    const rules = ["registry.sync.test", "generated.sync.test"];
    writeFileSync(
      join(hostC, policyPath),
      formatPolicy(rules, {
        scoped: false,
        credentials: [{ key: registry, username: "user", password: passwords[0] ?? "" }],
      }),
      { mode: 0o600 },
    );
    chownSync(join(hostC, "etc/nodecred/credentials"), syncUser.uid, syncUser.gid);
    chownSync(join(hostC, policyPath), syncUser.uid, syncUser.gid);
    const syncC = await startSyncProcess(
      [
        `--kubeconfig=${saKubeconfig}`,
        `--namespace=${ns}`,
        "--kubelet-healthz-url=",
        `--host-root=${hostC}`,
        "--node=node-c",
        "--pod=pod-c",
        "--configmap=nodecred-config-5h8k2m9t7c",
      ],
      syncUser,
    );
    try {
      await eventually("the current password in node C's file", () =>
        fileAuths(hostC)[registry]?.password === passwords[1] ? true : undefined,
      );
      assert.deepEqual(policyFileOf(hostC).matchImages, rules, "the rules as apply wrote them");
      assert.ok(
        syncC
          .logs()
          .split("\n")
          .some((l) => l.includes('"watch ended; restarting"') && l.includes('"configmaps"')),
        "the ConfigMap watch is refused and logged",
      );
    } finally {
      assert.equal(await syncC.stop(), 0);
    }
    for (const pw of passwords) assert.ok(!syncC.logs().includes(pw));
  });

  it("keeps the last good file for a malformed Secret and reports it as an Event", async () => {
    const before = readFileSync(join(hostA, policyPath));
    const reportedBefore = (await reportLabels("node-a"))?.["nodecred.io/credentials-version"];
    assert.ok(reportedBefore !== undefined);
    const rejectedBefore = counter(await syncA.metrics(), "nodecred_secret_rejected_total");
    const rejectedBeforeB = counter(await syncB.metrics(), "nodecred_secret_rejected_total");
    const bad = [
      { name: "empty auths", config: { auths: {} } },
      { name: "auth not base64", config: { auths: { [registry]: { auth: "%%%not-base64" } } } },
      {
        name: "auth without colon",
        config: { auths: { [registry]: { auth: Buffer.from("nocolon").toString("base64") } } },
      },
    ];
    for (const [i, c] of bad.entries()) {
      await core.replaceNamespacedSecret({
        namespace: ns,
        name: secretName,
        body: dockerConfigJsonSecret(secretName, ns, JSON.stringify(c.config)),
      });
      await eventually(`rejection of ${c.name}`, async () =>
        counter(await syncA.metrics(), "nodecred_secret_rejected_total") >= rejectedBefore + i + 1
          ? true
          : undefined,
      );
      assert.deepEqual(readFileSync(join(hostA, policyPath)), before, c.name);
    }
    // Wrong type: the type is immutable, so the Secret is recreated as Opaque.
    await core.deleteNamespacedSecret({ namespace: ns, name: secretName });
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: secretName, namespace: ns }, type: "Opaque", data: { x: "eA==" } },
    });
    await eventually("rejection of an Opaque Secret", async () =>
      counter(await syncA.metrics(), "nodecred_secret_rejected_total") >=
      rejectedBefore + bad.length + 1
        ? true
        : undefined,
    );
    assert.deepEqual(readFileSync(join(hostA, policyPath)), before);
    // The report says so, and still names the version whose credentials the file holds.
    const invalidReport = await eventually("node A's report of an invalid Secret", async () => {
      const labels = await reportLabels("node-a");
      return labels?.["nodecred.io/state"] === "secret-invalid" ? labels : undefined;
    });
    assert.equal(invalidReport["nodecred.io/credentials-version"], reportedBefore);
    // Not ready, and why in words, in the report as /readyz says it (probed here as the kubelet
    // does): no node shell needed to read it.
    const readyz = await syncA.readyz();
    assert.equal(readyz.status, 503);
    const notReady = await eventually("node A's report of its readiness", async () => {
      const lease = await nodeReportOf(ns, "node-a");
      return lease?.metadata?.labels?.["nodecred.io/ready"] === "false" ? lease : undefined;
    });
    assert.equal(notReady.metadata?.annotations?.["nodecred.io/not-ready"], readyz.body.trim());
    assert.match(readyz.body, /Secret nodecred-credentials invalid/);
    // Node B saw the versions too (so it tried to report them as well).
    await eventually("node B's rejections", async () =>
      counter(await syncB.metrics(), "nodecred_secret_rejected_total") > rejectedBeforeB
        ? true
        : undefined,
    );
    const opaque = await core.readNamespacedSecret({ namespace: ns, name: secretName });
    const events = await eventually("SecretRejected events", async () => {
      const list = await secretEvents("SecretRejected");
      return list.length >= bad.length + 1 ? list : undefined;
    });
    // One Warning per rejected version for the whole cluster, on the Secret itself (with its uid,
    // as `kubectl describe secret` finds them) — not one per node and per Pod and Node.
    assert.equal(events.length, bad.length + 1, events.map((e) => e.metadata.name).join(" "));
    assert.ok(events.every((e) => e.type === "Warning" && e.count === 1));
    assert.ok(
      events.every(
        (e) => e.involvedObject.kind === "Secret" && e.involvedObject.name === secretName,
      ),
    );
    assert.ok(
      events.some(
        (e) => e.involvedObject.uid === opaque.metadata?.uid && /type/.test(e.message ?? ""),
      ),
      "the Opaque version's event names its uid and the type problem",
    );
    const nodeEvents = (await core.listNamespacedEvent({ namespace: "default" })).items;
    assert.ok(!nodeEvents.some((e) => e.reason === "SecretRejected"));
    // Fixed again: the next good version is written.
    await core.deleteNamespacedSecret({ namespace: ns, name: secretName });
    await core.createNamespacedSecret({
      namespace: ns,
      body: dockerConfigSecret(secretName, ns, {
        [registry]: { username: "user", password: passwords[2] ?? "" },
      }),
    });
    await eventually("file after the fix", () =>
      fileAuths(hostA)[registry]?.password === passwords[2] ? true : undefined,
    );
    await eventually("node A's report current again", async () =>
      (await reportLabels("node-a"))?.["nodecred.io/state"] === "current" ? true : undefined,
    );
    assert.equal((await syncA.readyz()).status, 200);
    const readyAgain = await eventually("node A's report ready again", async () => {
      const lease = await nodeReportOf(ns, "node-a");
      return lease?.metadata?.labels?.["nodecred.io/ready"] === "true" ? lease : undefined;
    });
    assert.equal(readyAgain.metadata?.annotations?.["nodecred.io/not-ready"], undefined);
  });

  it("takes a matchImages edit inside the envelope live: every node's policy file, no rollout", async () => {
    const generation = await dsGeneration();
    const hash = await dsHash();
    const updates = counter(await syncA.metrics(), "nodecred_policy_rules_updates_total");
    const rotations = counter(await syncA.metrics(), "nodecred_credentials_rotations_total");
    const patterns = ["registry.sync.test", "*.registry.sync.test", "other.sync.test/team"];
    const edited = await core.replaceNamespacedConfigMap({
      namespace: ns,
      name: cmName,
      body: {
        metadata: { name: cmName, namespace: ns },
        data: { ...shippedData, matchImages: `${patterns.join("\n")}\n` },
      },
    });
    for (const host of [hostA, hostB]) {
      await eventually("the new rules in the policy file", () =>
        JSON.stringify(policyFileOf(host).matchImages) === JSON.stringify(patterns)
          ? true
          : undefined,
      );
      assert.deepEqual(fileAuths(host), {
        [registry]: { password: passwords[2], username: "user" },
      });
    }
    // Both nodes wrote it; the cluster has one Event, on that version of the ConfigMap.
    const live = await theEvent("ConfigAppliedLive");
    assert.equal(live.involvedObject.kind, "ConfigMap");
    assert.equal(live.involvedObject.uid, edited.metadata?.uid);
    assert.match(live.message ?? "", /no rollout, no kubelet restart/);
    assert.ok(counter(await syncA.metrics(), "nodecred_policy_rules_updates_total") > updates);
    assert.equal(
      counter(await syncA.metrics(), "nodecred_credentials_rotations_total"),
      rotations,
      "the credentials were not rewritten",
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await dsGeneration(), generation, "no template change");
    assert.equal(await dsHash(), hash);
  });

  it("turns each distinct kubelet config into exactly one pod-template change, with its reasons", async () => {
    const generation0 = await dsGeneration();
    const data = {
      matchImages: "registry.sync.test\n*.registry.sync.test\n",
      defaultCacheDuration: "10m",
    };
    const expected = checkConfigMapForRollout(data);
    assert.ok(expected.ok);
    await core.replaceNamespacedConfigMap({
      namespace: ns,
      name: cmName,
      body: { metadata: { name: cmName, namespace: ns }, data },
    });
    await eventually("the new hash in the pod template", async () =>
      (await dsHash()) === expected.value.hash ? true : undefined,
    );
    const generation1 = await dsGeneration();
    assert.equal(generation1, generation0 + 1, "two nodes patched, one template change");
    const rollout = await theEvent("ConfigRolloutStarted", "one Event for the cluster");
    assert.equal(rollout.involvedObject.kind, "ConfigMap");
    // From what the nodes run (their apply status) to the new config.
    assert.match(rollout.message ?? "", /defaultCacheDuration 0s -> 10m/);
    // The rules reach the policy files live all the same.
    for (const host of [hostA, hostB]) {
      await eventually("rules in the policy file", () =>
        policyFileOf(host).matchImages.length === 2 ? true : undefined,
      );
    }

    // Same settings, different text (a comment line): same hash, no new rollout.
    const configPasses = counter(
      await syncA.metrics(),
      'nodecred_reconciles_total{loop="config",result="ok"}',
    );
    await core.replaceNamespacedConfigMap({
      namespace: ns,
      name: cmName,
      body: {
        metadata: { name: cmName, namespace: ns },
        data: { ...data, matchImages: `# ours\n${data.matchImages}` },
      },
    });
    await eventually("a config pass after the comment edit", async () =>
      counter(await syncA.metrics(), 'nodecred_reconciles_total{loop="config",result="ok"}') >
      configPasses
        ? true
        : undefined,
    );
    assert.equal(await dsGeneration(), generation1);
  });

  it("sets a pod template put back by hand (rollout undo) forward to the ConfigMap's hash", async () => {
    const hash = await dsHash();
    assert.ok(hash !== undefined);
    await apps.patchNamespacedDaemonSet(
      {
        namespace: ns,
        name: "nodecred",
        body: {
          spec: {
            template: {
              metadata: {
                annotations: { "nodecred.io/kubelet-config-hash": "0000000000000000" },
              },
            },
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    assert.equal(await dsHash(), "0000000000000000");
    // The next config pass (here prompted by a ConfigMap event; else the resync) restores it.
    await core.patchNamespacedConfigMap(
      { namespace: ns, name: cmName, body: { metadata: { annotations: { touched: "1" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await eventually("the ConfigMap's hash back in the template", async () =>
      (await dsHash()) === hash ? true : undefined,
    );
  });

  it("refuses a ConfigMap the kubelet would reject: Event, metric, no rollout, rules kept", async () => {
    const generation = await dsGeneration();
    const policyBefore = readFileSync(join(hostA, policyPath));
    const configVersion = (await reportLabels("node-a"))?.["nodecred.io/config-version"];
    assert.ok(configVersion !== undefined);
    const hash = await dsHash();
    const rejected = counter(await syncA.metrics(), "nodecred_config_rejected_total");
    const rejectedB = counter(await syncB.metrics(), "nodecred_config_rejected_total");
    const invalid = await core.replaceNamespacedConfigMap({
      namespace: ns,
      name: cmName,
      body: {
        metadata: { name: cmName, namespace: ns },
        data: { matchImages: "%invalid%\n", defaultCacheDuration: "-1m" },
      },
    });
    await eventually("the rejection on both nodes", async () =>
      counter(await syncA.metrics(), "nodecred_config_rejected_total") > rejected &&
      counter(await syncB.metrics(), "nodecred_config_rejected_total") > rejectedB
        ? true
        : undefined,
    );
    // Both nodes rejected it; the cluster has one Warning, on the ConfigMap (`kubectl describe`).
    const event = await theEvent("ConfigRejected");
    assert.equal(event.involvedObject.kind, "ConfigMap");
    assert.equal(event.involvedObject.name, cmName);
    assert.equal(event.involvedObject.uid, invalid.metadata?.uid);
    assert.equal(event.count, 1);
    assert.match(event.message ?? "", /matchImages/);
    assert.equal(await dsGeneration(), generation);
    assert.equal(await dsHash(), hash);
    assert.deepEqual(readFileSync(join(hostA, policyPath)), policyBefore, "rules kept");
    // Each node reports the refusal, and the version whose rules it keeps.
    for (const node of ["node-a", "node-b"]) {
      const labels = await eventually(`${node}'s report of the refusal`, async () => {
        const l = await reportLabels(node);
        return l?.["nodecred.io/state"] === "refused" ? l : undefined;
      });
      assert.equal(labels["nodecred.io/config-version"], configVersion);
    }
  });

  it("is refused everything else by the real authorizer", async () => {
    const sa = adminKubeConfig(saKubeconfig);
    const saCore = sa.makeApiClient(CoreV1Api);
    const saApps = sa.makeApiClient(AppsV1Api);
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "someone-elses", namespace: ns }, stringData: { k: "v" } },
    });
    // What it needs works...
    assert.equal(
      await apiStatus(saCore.readNamespacedSecret({ namespace: ns, name: secretName })),
      200,
    );
    assert.equal(
      await apiStatus(
        saCore.listNamespacedSecret({
          namespace: ns,
          fieldSelector: `metadata.name=${secretName}`,
        }),
      ),
      200,
    );
    assert.equal(
      await apiStatus(saCore.readNamespacedConfigMap({ namespace: ns, name: cmName })),
      200,
    );
    // Every Secret of its own namespace (the credential sets' Secrets, through one list+watch),
    // read-only...
    assert.equal(await apiStatus(saCore.listNamespacedSecret({ namespace: ns })), 200);
    assert.equal(
      await apiStatus(saCore.readNamespacedSecret({ namespace: ns, name: "someone-elses" })),
      200,
    );
    assert.equal(
      await apiStatus(
        saCore.createNamespacedSecret({
          namespace: ns,
          body: dockerConfigSecret("planted", ns, {}),
        }),
      ),
      403,
    );
    assert.equal(
      await apiStatus(saCore.deleteNamespacedSecret({ namespace: ns, name: "someone-elses" })),
      403,
    );
    // ...and nothing else.
    assert.equal(await apiStatus(saCore.listSecretForAllNamespaces()), 403);
    assert.equal(
      await apiStatus(saCore.readNamespacedSecret({ namespace: "default", name: secretName })),
      403,
    );
    assert.equal(
      await apiStatus(saCore.listNamespacedConfigMap({ namespace: "kube-system" })),
      403,
    );
    assert.equal(
      await apiStatus(
        saCore.replaceNamespacedSecret({
          namespace: ns,
          name: secretName,
          body: dockerConfigSecret(secretName, ns, {}),
        }),
      ),
      403,
    );
    await apps.createNamespacedDaemonSet({
      namespace: ns,
      body: {
        metadata: { name: "other", namespace: ns },
        spec: {
          selector: { matchLabels: { app: "other" } },
          template: {
            metadata: { labels: { app: "other" } },
            spec: { containers: [{ name: "c", image: "busybox" }] },
          },
        },
      },
    });
    const patch = { spec: { template: { metadata: { annotations: { x: "y" } } } } };
    assert.equal(
      await apiStatus(
        saApps.patchNamespacedDaemonSet({ namespace: ns, name: "other", body: patch }),
      ),
      403,
    );
    assert.equal(
      await apiStatus(saApps.readNamespacedDaemonSet({ namespace: ns, name: "nodecred" })),
      200,
    );
    assert.equal(
      await apiStatus(saApps.readNamespacedDaemonSet({ namespace: ns, name: "other" })),
      403,
    );
    assert.equal(await apiStatus(saCore.listNode()), 403);
  });
});
