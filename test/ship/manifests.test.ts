// manifests/ against the real kube-apiserver: `kubectl apply -k` validates server-side (dry run,
// so nothing else in the environment is disturbed), and the shape that the security model relies
// on is checked on what kustomize renders.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { kubectl, repoRoot } from "../sync/cluster.ts";

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface Container {
  name: string;
  securityContext: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  resources?: { requests?: unknown; limits?: unknown };
}

async function rendered(): Promise<Obj[]> {
  const text = await kubectl(["kustomize", join(repoRoot, "manifests")]);
  return parseAllDocuments(text).map((d) => d.toJS() as Obj);
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
      "configmap/nodecred-config",
      "daemonset.apps/nodecred",
    ]) {
      assert.match(out, new RegExp(want.replace(/[./]/g, "\\$&")));
    }
  });

  it("are refused by the server when broken (the dry run validates for real)", async () => {
    const objs = await rendered();
    const ds = objs.find((o) => o.kind === "DaemonSet");
    assert.ok(ds);
    const broken = {
      ...ds,
      spec: { ...(ds["spec"] as object), selector: { matchLabels: { other: "x" } } },
    };
    await assert.rejects(
      kubectl(["apply", "--dry-run=server", "-f", "-"], undefined, JSON.stringify(broken)),
      /selector.*does not match|`selector` does not match template `labels`/,
    );
  });

  it("grant only named objects, and read and patch only our own DaemonSet", async () => {
    const roles = (await rendered()).filter((o) => o.kind === "Role" || o.kind === "ClusterRole");
    assert.ok(
      roles.every((r) => r.kind === "Role"),
      "no cluster-wide roles",
    );
    const rules = roles.flatMap(
      (r) => r["rules"] as { resources: string[]; verbs: string[]; resourceNames?: string[] }[],
    );
    for (const rule of rules) {
      if (rule.resources.includes("events")) {
        assert.deepEqual(rule.verbs, ["create"]);
        continue;
      }
      assert.ok(
        rule.resourceNames && rule.resourceNames.length === 1,
        `unnamed grant: ${JSON.stringify(rule)}`,
      );
      assert.ok(!rule.verbs.some((v) => ["create", "update", "delete", "*"].includes(v)));
    }
    const ds = rules.find((r) => r.resources.includes("daemonsets"));
    assert.deepEqual(ds, {
      apiGroups: ["apps"],
      resources: ["daemonsets"],
      resourceNames: ["nodecred"],
      verbs: ["get", "patch"],
    });
  });

  it("keep privilege in the init container only", async () => {
    const ds = (await rendered()).find((o) => o.kind === "DaemonSet");
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
