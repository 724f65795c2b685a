// The Kubernetes API server of the test environment is real: watches see writes, and RBAC decides
// what a ServiceAccount token may do (403 without a grant, allowed with one).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import {
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  Watch,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { testEnv } from "../env/index.ts";
import { apiStatus } from "../sync/cluster.ts";

function adminConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testEnv().kube.kubeconfig);
  return kc;
}

function tokenConfig(token: string): KubeConfig {
  const env = testEnv();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "test", server: env.kube.server, caFile: env.kube.caFile }],
    users: [{ name: "sa", token }],
    contexts: [{ name: "sa@test", cluster: "test", user: "sa" }],
    currentContext: "sa@test",
  });
  return kc;
}

describe("kube-apiserver", () => {
  const namespace = `smoke-${Date.now().toString(36)}`;
  const admin = adminConfig();
  const core = admin.makeApiClient(CoreV1Api);

  it("runs the pinned Kubernetes release, as do the other built binaries", () => {
    const env = testEnv();
    assert.match(env.kube.version, /^v1\.34\.\d+$/);
    for (const bin of [env.bins.kubelet, env.bins.kubeControllerManager]) {
      assert.equal(
        execFileSync(bin, ["--version"], { encoding: "utf8" }).trim(),
        `Kubernetes ${env.kube.version}`,
      );
    }
  });

  it("delivers a created ConfigMap to a client-node watch", async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const seen: { phase: string; name: string | undefined; data: unknown }[] = [];
    let watchError: unknown;
    let added: () => void = () => undefined;
    const gotIt = new Promise<void>((resolve) => (added = resolve));
    const controller = await new Watch(admin).watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { fieldSelector: "metadata.name=watched" },
      (phase, obj: V1ConfigMap) => {
        seen.push({ phase, name: obj.metadata?.name, data: obj.data });
        if (phase === "ADDED") added();
      },
      (err: unknown) => {
        watchError = err;
      },
    );
    try {
      // Created once the watch is established, so what arrives is a watch event, not a list.
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "ignored" }, data: { a: "0" } },
      });
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "watched" }, data: { matchImages: "registry.example/*" } },
      });
      const timeout = new Promise<never>((_, reject) => {
        setTimeout(() => {
          reject(new Error(`watch saw nothing within 10s (error: ${String(watchError)})`));
        }, 10_000).unref();
      });
      await Promise.race([gotIt, timeout]);
    } finally {
      controller.abort();
    }
    assert.equal(watchError, undefined);
    assert.deepEqual(seen, [
      { phase: "ADDED", name: "watched", data: { matchImages: "registry.example/*" } },
    ]);
  });

  it("refuses a ServiceAccount token without a grant (403) and allows it with one", async () => {
    const sa = "smoke-reader";
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: sa } } });
    const { status } = await core.createNamespacedServiceAccountToken({
      name: sa,
      namespace,
      body: { spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 600 } },
    });
    const token = status?.token;
    assert.ok(token);
    const asSa = tokenConfig(token).makeApiClient(CoreV1Api);

    // Authenticated (not 401) but not authorized.
    assert.equal(await apiStatus(asSa.listNamespacedConfigMap({ namespace })), 403);
    // A garbage token is not authenticated at all.
    const nobody = tokenConfig(`${token.slice(0, -4)}AAAA`).makeApiClient(CoreV1Api);
    assert.equal(await apiStatus(nobody.listNamespacedConfigMap({ namespace })), 401);

    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: sa },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: sa },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: sa },
        subjects: [{ kind: "ServiceAccount", name: sa, namespace }],
      },
    });
    // RBAC changes reach the authorizer through its informers: poll briefly.
    let allowed = 0;
    for (let i = 0; i < 50 && allowed !== 200; i++) {
      allowed = await apiStatus(asSa.listNamespacedConfigMap({ namespace }));
      if (allowed !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(allowed, 200);
    // The grant is for configmaps only.
    assert.equal(await apiStatus(asSa.listNamespacedSecret({ namespace })), 403);
  });
});
