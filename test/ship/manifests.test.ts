// manifests/ against the real kube-apiserver: `kubectl apply -k` validates server-side (dry run,
// so nothing else in the environment is disturbed), and the shape that the security model relies
// on is checked on what kustomize renders.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { kubectl, repoRoot } from "../sync/cluster.ts";
import { kustomizedManifests, withForeignSelector } from "./objects.ts";

interface Container {
  name: string;
  securityContext: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  resources?: { requests?: unknown; limits?: unknown };
}

describe("manifests/", () => {
  before(async () => {
    // A dry run does not create the namespace the other objects need; apply that one for real.
    await kubectl(["apply", "-f", join(repoRoot, "manifests", "namespace.yaml")]);
  });

  it("are accepted by kube-apiserver (server-side dry run of kubectl apply -k)", async () => {
    const out = await kubectl(["apply", "-k", join(repoRoot, "manifests"), "--dry-run=server"]);
    for (const want of [
      "namespace/nodecred",
      "serviceaccount/nodecred",
      "role.rbac.authorization.k8s.io/nodecred",
      "clusterrole.rbac.authorization.k8s.io/nodecred-token-audience",
      "clusterrolebinding.rbac.authorization.k8s.io/nodecred-token-audience",
      "configmap/nodecred-config",
      "daemonset.apps/nodecred",
    ]) {
      assert.match(out, new RegExp(want.replace(/[./]/g, "\\$&")));
    }
  });

  it("are refused by the server when broken (the dry run validates for real)", async () => {
    await assert.rejects(
      kubectl(
        ["apply", "--dry-run=server", "-f", "-"],
        undefined,
        withForeignSelector(await kustomizedManifests()),
      ),
      /selector.*does not match|`selector` does not match template `labels`/,
    );
  });

  it("grant reads of our own namespace's objects, and read and patch only our own DaemonSet", async () => {
    const objs = await kustomizedManifests();
    const roles = objs.filter((o) => o.kind === "Role" || o.kind === "ClusterRole");
    // Cluster-wide only the token audience for the kubelet (audience-rbac.test.ts proves it with
    // the real authorizer); everything nodecred itself may do is namespaced.
    assert.deepEqual(
      roles.filter((r) => r.kind === "ClusterRole").map((r) => r.metadata.name),
      ["nodecred-token-audience", "nodecred-view"],
    );
    // People's read access to the node reports: aggregated into `view`, read-only, Leases only,
    // and bound to nobody by us.
    const view = roles.find((r) => r.metadata.name === "nodecred-view");
    assert.ok(view);
    assert.deepEqual(view["rules"], [
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["get", "list", "watch"],
      },
    ]);
    assert.deepEqual(view.metadata.labels, {
      "app.kubernetes.io/name": "nodecred",
      "app.kubernetes.io/part-of": "nodecred",
      "rbac.authorization.k8s.io/aggregate-to-view": "true",
    });
    const bindings = objs.filter(
      (o) => o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding",
    );
    for (const b of bindings) {
      const subjects = b["subjects"] as { kind: string; name: string; namespace?: string }[];
      if (b.kind === "ClusterRoleBinding") {
        assert.deepEqual(
          subjects.map((s) => `${s.kind}/${s.name}`),
          ["Group/system:nodes"],
        );
      } else {
        assert.deepEqual(subjects, [
          { kind: "ServiceAccount", name: "nodecred", namespace: "nodecred" },
        ]);
      }
    }
    type Rule = { resources: string[]; verbs: string[]; resourceNames?: string[] };
    const rules = roles
      .filter((r) => r.kind === "Role")
      .flatMap((r) =>
        (r["rules"] as Rule[]).map((rule) => ({ ...rule, ns: r.metadata.namespace })),
      );
    for (const rule of rules) {
      assert.ok(!rule.verbs.some((v) => ["update", "delete", "deletecollection", "*"].includes(v)));
      if (rule.resources.includes("events")) {
        assert.deepEqual(rule.verbs, ["create"]);
        continue;
      }
      assert.equal(rule.ns, "nodecred", `outside nodecred's namespace: ${JSON.stringify(rule)}`);
      if (rule.resources.includes("leases")) {
        // Each node's report: written, never read back; per-node names cannot be bound.
        assert.deepEqual(rule, {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          verbs: ["create", "patch"],
          ns: "nodecred",
        });
        continue;
      }
      assert.ok(!rule.verbs.includes("create"));
      if (rule.resources.includes("secrets")) {
        // Every set's Secret, through one list+watch: only the namespace bounds it.
        assert.deepEqual(rule, {
          resources: ["secrets"],
          apiGroups: [""],
          verbs: ["get", "list", "watch"],
          ns: "nodecred",
        });
        continue;
      }
      assert.ok(
        rule.resourceNames && rule.resourceNames.length === 1,
        `unnamed grant: ${JSON.stringify(rule)}`,
      );
    }
    const ds = rules.find((r) => r.resources.includes("daemonsets"));
    assert.deepEqual(ds, {
      apiGroups: ["apps"],
      resources: ["daemonsets"],
      resourceNames: ["nodecred"],
      verbs: ["get", "patch"],
      ns: "nodecred",
    });
  });

  it("keep privilege in the init container only", async () => {
    const ds = (await kustomizedManifests()).find((o) => o.kind === "DaemonSet");
    assert.ok(ds);
    const pod = (ds["spec"] as { template: { spec: Record<string, unknown> } }).template.spec;
    const init = (pod["initContainers"] as Container[])[0];
    const sync = (pod["containers"] as Container[])[0];
    assert.ok(init && sync);
    assert.equal(init.securityContext["privileged"], true);
    assert.equal(sync.securityContext["privileged"], false);
    assert.equal(sync.securityContext["allowPrivilegeEscalation"], false);
    assert.deepEqual(sync.securityContext["capabilities"], { drop: ["ALL"] });
    // hostPID is pod-wide: the long-running container must not be root.
    assert.equal(sync.securityContext["runAsNonRoot"], true);
    assert.notEqual(sync.securityContext["runAsUser"], 0);
    const initArgs = (init as Container & { command: string[] }).command;
    assert.ok(
      initArgs.includes(
        `--credentials-owner=${String(sync.securityContext["runAsUser"])}:${String(sync.securityContext["runAsGroup"])}`,
      ),
      "apply must hand the credentials directory to the sync container's user",
    );
    for (const c of [init, sync]) assert.equal(c.securityContext["readOnlyRootFilesystem"], true);
    // The sync container sees one host directory: the credentials.
    const volumes = pod["volumes"] as { name: string; hostPath?: { path: string } }[];
    const hostMounts = (sync.volumeMounts ?? []).filter(
      (m) => volumes.find((v) => v.name === m.name)?.hostPath,
    );
    assert.deepEqual(
      hostMounts.map((m) => volumes.find((v) => v.name === m.name)?.hostPath?.path),
      ["/etc/nodecred/credentials"],
    );
    assert.ok(
      sync.readinessProbe && sync.livenessProbe && sync.resources?.limits && init.resources?.limits,
    );
    assert.equal(pod["priorityClassName"], "system-node-critical");
    assert.deepEqual(pod["tolerations"], [{ operator: "Exists" }]);
  });
});
