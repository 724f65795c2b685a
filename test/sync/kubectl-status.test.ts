// `kubectl nodecred status` (the built dist/kubectl-nodecred, found by the pinned kubectl as a
// plugin on PATH) against the real kube-apiserver, as a user with a viewer's rights, over real
// objects: Nodes; the DaemonSet of manifests/ in a namespace of its own (other tests use
// `nodecred` at the same time); its ControllerRevisions and pods as the DaemonSet controller and
// the kubelets would make them (no controller-manager or kubelet runs here: their objects and
// status are written as they write them), one pod's apply init container failed with exit 6 and
// its last log line as termination message; the node reports written by the real sync process
// (`nodecred-installer run`, one per node), a rejected Secret among them; Warning Events.
// The shared apiserver runs no controller-manager, so ClusterRole aggregation does not happen
// here (`view` has no rules of its own): the viewer is bound to `view`, to the bootstrap
// `system:aggregate-to-view` whose rules make up `view`, and to `nodecred-view`, each explicitly
// (test/e2e/fleet.test.ts shows the aggregation with a real controller-manager). No password in any output.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { testEnv } from "../env/index.ts";
import {
  adminKubeConfig,
  appliedStatusFor,
  dockerConfigJsonSecret,
  dockerConfigSecret,
  eventually,
  kubectl,
  kubectlNodecred,
  nodeReportOf,
  repoRoot,
  scratchDir,
  serviceAccountKubeconfig,
  startSyncProcess,
  syncFlags,
  syncNode,
  type CommandResult,
  type SyncProcess,
} from "./cluster.ts";

const ns = "status-nodecred";
const nodes = ["status-n1", "status-n2", "status-n3"] as const;
const [n1, n2, n3] = nodes;
const password = "status-secret-Pw7";

/** The ConfigMap data manifests/ ships, and an older one (another kubelet config). */
const shippedData = (
  parseYaml(readFileSync(join(repoRoot, "manifests/configmap.yaml"), "utf8")) as {
    data: Record<string, string>;
  }
).data;
const olderData = { ...shippedData, defaultCacheDuration: "7s" };
const hashOf = (data: Record<string, string>): string =>
  (JSON.parse(appliedStatusFor(data)) as { kubeletConfigHash: string }).kubeletConfigHash;

const rolledBackLine = JSON.stringify({
  level: "error",
  time: "2025-06-01T12:00:00.000Z",
  component: "nodecred-installer",
  code: "ROLLED_BACK",
  msg: "kubelet did not come back healthy with the new configuration (kubelet exited 3 times since the restart); the previous files were restored and kubelet is healthy again",
});

type Run = CommandResult;

describe(
  "kubectl nodecred status, as a viewer, through kubectl's plugin lookup",
  { timeout: 180_000 },
  () => {
    const admin = adminKubeConfig();
    const core = admin.makeApiClient(CoreV1Api);
    const apps = admin.makeApiClient(AppsV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const dir = scratchDir("kubectl-status");
    const syncs: SyncProcess[] = [];
    const podNames = new Map<string, string>();
    let viewer = "";
    let viewOnly = "";
    const target = hashOf(shippedData);
    const older = hashOf(olderData);

    /** `kubectl nodecred ARGS` in this test's namespace, as the holder of `kubeconfig`. */
    const plugged = (args: readonly string[], kubeconfig: string): Promise<Run> =>
      kubectlNodecred([...args, "--kubeconfig", kubeconfig, "-n", ns]);

    const setPodStatus = async (name: string, status: Record<string, unknown>): Promise<void> => {
      await core.patchNamespacedPodStatus(
        { namespace: ns, name, body: { status } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    };

    before(async () => {
      // The objects of manifests/ this reads, moved to a namespace of its own.
      const rendered = parseAllDocuments(
        await kubectl(["kustomize", join(repoRoot, "manifests")]),
      ).map((d) => d.toJSON() as { kind: string; metadata: { name: string; namespace?: string } });
      const docOf = (kind: string, name: string): Record<string, unknown> => {
        const doc = rendered.find((d) => d.kind === kind && d.metadata.name === name);
        assert.ok(doc, `${kind} ${name} in manifests/`);
        return doc;
      };
      await core.createNamespace({ body: { metadata: { name: ns } } });
      // No controller-manager here to make the namespace's `default` ServiceAccount.
      await core.createNamespacedServiceAccount({
        namespace: ns,
        body: { metadata: { name: "nodecred" } },
      });
      // nodecred-view as manifests/ has it (the same object other tests apply).
      await kubectl(
        ["apply", "-f", "-"],
        undefined,
        JSON.stringify(docOf("ClusterRole", "nodecred-view")),
      );
      for (const node of nodes) {
        await core.createNode({ body: { metadata: { name: node } } });
      }
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: "nodecred-config" }, data: shippedData },
      });
      await core.createNamespacedSecret({
        namespace: ns,
        body: dockerConfigSecret("nodecred-credentials", ns, {
          "registry.status.test": { username: "user", password },
        }),
      });
      const ds = docOf("DaemonSet", "nodecred") as {
        metadata: Record<string, unknown>;
        spec: { template: { metadata: { annotations?: Record<string, string> } } };
      };
      ds.metadata["namespace"] = ns;
      // The config the sync loop rolled out (as it patches it): the shipped ConfigMap's.
      ds.spec.template.metadata.annotations = { "nodecred.io/kubelet-config-hash": target };
      const created = await apps.createNamespacedDaemonSet({ namespace: ns, body: ds as never });
      const owner = {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        name: "nodecred",
        uid: created.metadata?.uid ?? "",
        controller: true,
      };
      // Two revisions, as the DaemonSet controller records them: "old" (the older config) and "new".
      for (const [hash, revision] of [
        ["old", 1],
        ["new", 2],
      ] as const) {
        await apps.createNamespacedControllerRevision({
          namespace: ns,
          body: {
            metadata: {
              name: `nodecred-${hash}`,
              labels: { "app.kubernetes.io/name": "nodecred", "controller-revision-hash": hash },
              ownerReferences: [owner],
            },
            data: {},
            revision,
          },
        });
      }
      // Pods as the controller makes them: n1 and n2 on the new revision, n3 still on the old one.
      for (const [node, revision] of [
        [n1, "new"],
        [n2, "new"],
        [n3, "old"],
      ] as const) {
        const pod = await core.createNamespacedPod({
          namespace: ns,
          body: {
            metadata: {
              generateName: "nodecred-",
              labels: {
                "app.kubernetes.io/name": "nodecred",
                "controller-revision-hash": revision,
              },
              ownerReferences: [owner],
            },
            spec: {
              nodeName: node,
              serviceAccountName: "nodecred",
              automountServiceAccountToken: false,
              initContainers: [{ name: "apply", image: "nodecred/nodecred:0.1.0" }],
              containers: [{ name: "sync", image: "nodecred/nodecred:0.1.0" }],
            },
          },
        });
        podNames.set(node, pod.metadata?.name ?? "");
      }
      const now = new Date().toISOString();
      const ready = (status: "True" | "False"): Record<string, unknown> => ({
        conditions: [{ type: "Ready", status, lastTransitionTime: now }],
      });
      const applyDone = {
        name: "apply",
        image: "nodecred",
        imageID: "",
        ready: true,
        restartCount: 0,
      };
      for (const node of [n1, n3]) {
        await setPodStatus(podNames.get(node) ?? "", {
          phase: "Running",
          ...ready("True"),
          initContainerStatuses: [
            {
              ...applyDone,
              state: { terminated: { exitCode: 0, reason: "Completed", finishedAt: now } },
            },
          ],
        });
      }
      // n2: the kubelet did not come back healthy with the new config; apply rolled back (exit 6),
      // its last log line the termination message (terminationMessagePolicy: FallbackToLogsOnError).
      await setPodStatus(podNames.get(n2) ?? "", {
        phase: "Pending",
        ...ready("False"),
        initContainerStatuses: [
          {
            ...applyDone,
            ready: false,
            state: {
              terminated: {
                exitCode: 6,
                reason: "Error",
                finishedAt: now,
                message: `{"level":"info","msg":"file restored"}\n${rolledBackLine}\n`,
              },
            },
          },
        ],
      });
      // The apply's Event on its pod (apply --events).
      await core.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { generateName: "nodecred-rolledback-" },
          involvedObject: {
            kind: "Pod",
            name: podNames.get(n2) ?? "",
            namespace: ns,
            apiVersion: "v1",
          },
          reason: "RolledBack",
          message: "ROLLED_BACK: kubelet did not come back healthy with the new configuration",
          type: "Warning",
          source: { component: "nodecred-apply" },
          firstTimestamp: new Date(),
          lastTimestamp: new Date(),
          count: 1,
        },
      });

      // The real sync container on n1 (new config) and n3 (old config): their reports are Leases.
      for (const [node, data, podHash] of [
        [n1, shippedData, target],
        [n3, olderData, older],
      ] as const) {
        const pod = await core.readNamespacedPod({ namespace: ns, name: podNames.get(node) ?? "" });
        syncs.push(
          await startSyncProcess(
            syncFlags(syncNode(dir, node, data), testEnv().kube.kubeconfig, {
              namespace: ns,
              node,
              pod: podNames.get(node) ?? "",
            }),
            undefined,
            { POD_UID: pod.metadata?.uid ?? "", NODECRED_POD_CONFIG_HASH: podHash },
          ),
        );
      }
      // The kubelet probes /readyz; its answer goes into the report.
      for (const s of syncs) {
        await eventually("/readyz 200", async () =>
          (await s.readyz()).status === 200 ? true : undefined,
        );
      }
      for (const node of [n1, n3]) {
        await eventually(`${node}'s report with its readiness`, async () =>
          (await nodeReportOf(ns, node))?.metadata?.labels?.["nodecred.io/ready"] === "true"
            ? true
            : undefined,
        );
      }

      // A viewer: `view` (with the rules aggregation would give it) and `nodecred-view`, in
      // nodecred's namespace only (no Nodes, no `default`); another without `nodecred-view`.
      for (const [name, roles] of [
        ["status-viewer", ["view", "system:aggregate-to-view", "nodecred-view"]],
        ["status-view-only", ["view", "system:aggregate-to-view"]],
      ] as const) {
        await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
        for (const role of roles) {
          await rbac.createNamespacedRoleBinding({
            namespace: ns,
            body: {
              metadata: { name: `${name}-${role.replace(/:/g, "-")}` },
              roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
              subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
            },
          });
        }
      }
      viewer = await serviceAccountKubeconfig(dir, ns, "status-viewer");
      viewOnly = await serviceAccountKubeconfig(dir, ns, "status-view-only");
    });

    after(async () => {
      await Promise.all(syncs.map((s) => s.stop()));
      for (const s of syncs) assert.ok(!s.logs().includes(password));
      for (const node of nodes) await core.deleteNode({ name: node });
      await core.deleteNamespace({ name: ns });
    });

    it("shows each node's state and why not, the rollout stopped at the failing node (table)", async (t) => {
      const run = await plugged(["status"], viewer);
      t.diagnostic(`\n${run.stdout}`);
      assert.equal(run.code, 0, run.stderr);
      const out = run.stdout;
      assert.ok(!out.includes(password));
      const row = (node: string): string =>
        out.split("\n").find((l) => l.startsWith(`${node} `)) ?? "";
      assert.match(
        row(n1),
        new RegExp(
          `^${n1} +yes +yes +${podNames.get(n1) ?? ""} +${target} current +\\d+ current +\\d+ current$`,
        ),
      );
      assert.match(row(n2), new RegExp(`^${n2} +NO +NO +${podNames.get(n2) ?? ""} +- +- +-$`));
      assert.match(
        row(n3),
        new RegExp(`^${n3} +yes +NO +${podNames.get(n3) ?? ""} \\(old revision\\) +${older} OLD`),
      );
      assert.match(
        out,
        /- apply exited 6 ROLLED_BACK: kubelet unhealthy after the restart; previous files restored and the kubelet healthy on them; kubelet did not come back healthy/,
      );
      assert.match(out, /- last warning \d+s ago: RolledBack on Pod\//);
      assert.match(out, new RegExp(`- kubelet runs config ${older}, the DaemonSet's is ${target}`));
      assert.match(out, new RegExp(`Rollout: +STOPPED at ${n2} \\(updated 2 of 3\\)`));
      assert.match(out, /^Nodes: +3: 1 current, 2 ready, 3 with a nodecred pod$/m);
      // The viewer may not list Nodes, nor read Events in default: said, not fatal.
      assert.match(out, /Note: +Nodes not readable \(forbidden: list nodes \(cluster-wide\)\)/);
      assert.match(
        out,
        /Note: +Node Events not readable \(forbidden: list events in namespace default\)/,
      );
      assert.doesNotMatch(out, /node reports not readable/);
    });

    it("-o json: the documented shape", async (t) => {
      const run = await plugged(["status", "-o", "json"], viewer);
      assert.equal(run.code, 0, run.stderr);
      t.diagnostic(`\n${run.stdout.split("\n").slice(0, 60).join("\n")}`);
      const doc = JSON.parse(run.stdout) as {
        kind: string;
        summary: { current: number; rollout: { state: string; at?: { node: string }[] } };
        target: { kubeletConfig: string };
        nodes: {
          node: string;
          current: boolean;
          ready: boolean;
          reportedReady: boolean | null;
          apply: { exitCode: number; code: string } | null;
          kubeletConfig: { version: string; current: boolean };
        }[];
      };
      assert.equal(doc.kind, "FleetStatus");
      assert.equal(doc.target.kubeletConfig, target);
      assert.equal(doc.summary.current, 1);
      assert.equal(doc.summary.rollout.state, "stopped");
      assert.deepEqual(
        doc.summary.rollout.at?.map((a) => a.node),
        [n2],
      );
      const byNode = new Map(doc.nodes.map((r) => [r.node, r]));
      assert.deepEqual(
        byNode.get(n2)?.apply && {
          exitCode: byNode.get(n2)?.apply?.exitCode,
          code: byNode.get(n2)?.apply?.code,
        },
        { exitCode: 6, code: "ROLLED_BACK" },
      );
      assert.equal(byNode.get(n1)?.reportedReady, true);
      assert.deepEqual(byNode.get(n3)?.kubeletConfig, { version: older, current: false });
    });

    it("a rejected Secret: every reporting node says so, with /readyz's reason from its report", async () => {
      await core.replaceNamespacedSecret({
        namespace: ns,
        name: "nodecred-credentials",
        body: dockerConfigJsonSecret("nodecred-credentials", ns, JSON.stringify({ auths: {} })),
      });
      for (const node of [n1, n3]) {
        await eventually(`${node} reports secret-invalid`, async () =>
          (await nodeReportOf(ns, node))?.metadata?.labels?.["nodecred.io/state"] ===
          "secret-invalid"
            ? true
            : undefined,
        );
      }
      const sync1 = syncs[0];
      assert.ok(sync1);
      assert.equal((await sync1.readyz()).status, 503);
      await eventually("n1's report not ready", async () =>
        (await nodeReportOf(ns, n1))?.metadata?.labels?.["nodecred.io/ready"] === "false"
          ? true
          : undefined,
      );
      const run = await plugged(["status"], viewer);
      assert.equal(run.code, 0, run.stderr);
      const block = run.stdout.split(`${n2} `)[0] ?? "";
      assert.match(
        block,
        /- not ready: policy file not synced yet \(Secret nodecred-credentials invalid\)/,
      );
      assert.match(block, /- report state secret-invalid: a Secret in use is malformed/);
      assert.match(run.stdout, new RegExp(`^${n1} +yes +NO `, "m"));
      assert.ok(!run.stdout.includes(password));
    });

    it("without nodecred-view: the answer without the reports, naming the missing grant", async () => {
      const run = await plugged(["status"], viewOnly);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        new RegExp(
          `Note: +node reports not readable \\(forbidden: list leases.coordination.k8s.io in namespace ${ns}\\): bind the ClusterRole nodecred-view`,
        ),
      );
      assert.match(run.stdout, new RegExp(`Rollout: +STOPPED at ${n2}`), "pods still judged");
    });

    it("API errors exit 1 naming the request; usage errors exit 2; --help exits 0", async () => {
      const noNs = await kubectlNodecred(["status", "--kubeconfig", viewer, "-n", "not-there"]);
      assert.equal(noNs.code, 1);
      assert.match(
        noNs.stderr,
        /get daemonsets.apps nodecred in namespace not-there: forbidden \(403\)/,
      );
      const usage = await plugged(["status", "-o", "yaml"], viewer);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /-o yaml: must be table or json/);
      const help = await plugged(["--help"], viewer);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^Usage: kubectl nodecred status/);
    });
  },
);
