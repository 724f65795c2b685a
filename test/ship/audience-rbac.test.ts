// The cluster-wide part of manifests/rbac.yaml (nodecred-token-audience) against the real
// kube-apiserver: with it, a node may request a ServiceAccount token for nodecred's audience for
// the pods bound to it (what the kubelet does before it runs the provider in scoped mode), and for
// no other audience. The check is NodeRestriction's (ServiceAccountNodeAudienceRestriction, on by
// default since 1.33): an authorizer decision on the synthetic attributes verb
// request-serviceaccounts-token-audience, apiGroup "", resource = the audience, namespace and name
// = the ServiceAccount's (plugin/pkg/admission/noderestriction/admission.go,
// validateNodeServiceAccountAudience, at v1.34).
//
// This file starts its own etcd + kube-apiserver: NodeRestriction is an admission plugin that is
// off unless enabled (kubeadm enables it; the shared test apiserver does not), and the shared one
// gets manifests/ applied by other tests at any time, so "before the binding exists" could not be
// observed there.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AuthorizationV1Api, CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { TOKEN_AUDIENCE } from "../../provider/core/scopes.ts";
import { testEnv } from "../env/index.ts";
import { startKube, type KubeInstance } from "../env/kube.ts";
import { issueCert, type KeyPair } from "../env/pki.ts";
import { adminKubeConfig, eventually, kubectl, repoRoot, scratchDir } from "../sync/cluster.ts";

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[];
  subjects?: { apiGroup?: string; kind: string; name: string }[];
  roleRef?: { apiGroup: string; kind: string; name: string };
}

const rbac = parseAllDocuments(readFileSync(join(repoRoot, "manifests/rbac.yaml"), "utf8")).map(
  (d) => d.toJS() as Manifest,
);
// nodecred-view (people's read access to the node reports, aggregated into `view`) is bound to
// nobody by nodecred: manifests.test.ts checks it.
const clusterScoped = rbac.filter(
  (o) =>
    (o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding") &&
    o.metadata.name !== "nodecred-view",
);

const ns = "audience-rbac";
const serviceAccount = "puller";
const verb = "request-serviceaccounts-token-audience";

/** POST as a client-certificate user; the status code and body, whatever they are. */
function post(
  kube: KubeInstance,
  user: KeyPair,
  path: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${kube.server}${path}`,
      {
        method: "POST",
        ca: readFileSync(kube.caFile),
        cert: readFileSync(user.cert),
        key: readFileSync(user.key),
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.once("end", () => {
          resolve({ status: res.statusCode ?? 0, body: text });
        });
      },
    );
    req.once("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`POST ${path} timed out`)));
    req.end(JSON.stringify(body));
  });
}

/** The JWT's payload, as the provider reads it (no signature check). */
function payloadOf(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe(
  "manifests/rbac.yaml: nodes may request tokens for nodecred's audience, and only that",
  {
    timeout: 180_000,
  },
  () => {
    const env = testEnv();
    const dir = scratchDir("audience-rbac");
    let kube: KubeInstance;
    let core: CoreV1Api;
    let nodeA: KeyPair;
    let nodeB: KeyPair;
    let podUid = "";

    /** The kubelet's TokenRequest: bound to the pod (NodeRestriction requires it), one audience. */
    const tokenRequest = (
      node: KeyPair,
      audience: string,
    ): Promise<{ status: number; body: string }> =>
      post(kube, node, `/api/v1/namespaces/${ns}/serviceaccounts/${serviceAccount}/token`, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          audiences: [audience],
          expirationSeconds: 600,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "on-node-a", uid: podUid },
        },
      });

    const allowed = async (
      user: string,
      groups: readonly string[],
      resource: string,
    ): Promise<boolean> => {
      const authz = adminKubeConfig(kube.kubeconfig).makeApiClient(AuthorizationV1Api);
      const review = await authz.createSubjectAccessReview({
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user,
            groups: [...groups],
            resourceAttributes: { verb, group: "", resource, namespace: ns, name: serviceAccount },
          },
        },
      });
      return review.status?.allowed === true;
    };
    const node = ["system:node:node-a", ["system:nodes", "system:authenticated"]] as const;

    before(async () => {
      kube = await startKube(dir, env.bins, {
        apiserverArgs: ["--enable-admission-plugins=NodeRestriction"],
      });
      const pki = join(dir, "node-pki");
      mkdirSync(pki);
      // As a kubelet's client certificate (test/e2e/node/node.ts): the node authorizer and
      // NodeRestriction know a node by this name and group.
      nodeA = issueCert(kube.ca, pki, "node-a", {
        commonName: "system:node:node-a",
        organization: "system:nodes",
        usage: "client",
      });
      nodeB = issueCert(kube.ca, pki, "node-b", {
        commonName: "system:node:node-b",
        organization: "system:nodes",
        usage: "client",
      });
      core = adminKubeConfig(kube.kubeconfig).makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: ns } } });
      await core.createNamespacedServiceAccount({
        namespace: ns,
        body: { metadata: { name: serviceAccount } },
      });
      // A pod bound to node A (no kubelet runs it) that uses that ServiceAccount and names no
      // audience in any volume: only the authorizer can let the node have a nodecred.io token.
      const pod = await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: "on-node-a" },
          spec: {
            nodeName: "node-a",
            serviceAccountName: serviceAccount,
            automountServiceAccountToken: false,
            containers: [{ name: "app", image: "registry.example.com/app:1" }],
          },
        },
      });
      podUid = pod.metadata?.uid ?? "";
      assert.notEqual(podUid, "");
    });

    after(async () => {
      await kube.stopApiserver();
      await kube.etcd.stop();
    });

    it("ships exactly one ClusterRole bound to anyone: to the nodes, for nodecred.io only", () => {
      assert.equal(TOKEN_AUDIENCE, "nodecred.io");
      assert.deepEqual(
        clusterScoped.map((o) => `${o.kind}/${o.metadata.name}`),
        ["ClusterRole/nodecred-token-audience", "ClusterRoleBinding/nodecred-token-audience"],
      );
      const [role, binding] = clusterScoped;
      assert.ok(role && binding);
      assert.deepEqual(role.rules, [
        { apiGroups: [""], resources: [TOKEN_AUDIENCE], verbs: [verb] },
      ]);
      assert.deepEqual(binding.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "nodecred-token-audience",
      });
      assert.deepEqual(binding.subjects, [
        { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" },
      ]);
    });

    it("without the binding, the node is refused a nodecred.io token (403)", async () => {
      assert.equal(await allowed(node[0], node[1], TOKEN_AUDIENCE), false);
      const refused = await tokenRequest(nodeA, TOKEN_AUDIENCE);
      assert.equal(refused.status, 403, refused.body);
      assert.match(
        refused.body,
        /audience \\"nodecred.io\\" not found in pod spec volume, system:node:node-a is not authorized to request tokens for this audience/,
      );
    });

    it("with the shipped ClusterRole and binding: a nodecred.io token for a pod on the node (201)", async () => {
      await kubectl(
        ["apply", "-f", "-"],
        kube.kubeconfig,
        clusterScoped.map((o) => JSON.stringify(o)).join("\n"),
      );
      // The RBAC authorizer reads bindings from an informer: it may take a moment.
      const granted = await eventually("the token request allowed", async () => {
        const r = await tokenRequest(nodeA, TOKEN_AUDIENCE);
        return r.status === 201 ? r : undefined;
      });
      const token = (JSON.parse(granted.body) as { status: { token: string } }).status.token;
      // What the provider reads from it: our audience and the pod's namespace.
      const claims = payloadOf(token);
      assert.deepEqual(claims["aud"], [TOKEN_AUDIENCE]);
      const k8s = claims["kubernetes.io"] as {
        namespace: string;
        serviceaccount: { name: string };
        pod: { name: string };
        node?: { name: string };
      };
      assert.equal(k8s.namespace, ns);
      assert.equal(k8s.serviceaccount.name, serviceAccount);
      assert.equal(k8s.pod.name, "on-node-a");
    });

    it("grants no other audience: not another one, not the API server's, not every one", async () => {
      for (const audience of ["other-audience", "https://kubernetes.default.svc"]) {
        const refused = await tokenRequest(nodeA, audience);
        assert.equal(refused.status, 403, `${audience}: ${refused.body}`);
        assert.match(refused.body, /is not authorized to request tokens for this audience/);
      }
      // The kubelet asks for one audience; a node may never ask for several at once.
      const two = await post(
        kube,
        nodeA,
        `/api/v1/namespaces/${ns}/serviceaccounts/${serviceAccount}/token`,
        {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: {
            audiences: [TOKEN_AUDIENCE, "other-audience"],
            boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "on-node-a", uid: podUid },
          },
        },
      );
      assert.equal(two.status, 403, two.body);
    });

    it("grants a node nothing for pods of another node (the node authorizer still decides that)", async () => {
      const other = await tokenRequest(nodeB, TOKEN_AUDIENCE);
      assert.equal(other.status, 403, other.body);
    });

    it("answers SubjectAccessReviews of the synthetic check: nodes yes, for nodecred.io only", async () => {
      const cases: [string, string, readonly string[], string, boolean][] = [
        ["a node, nodecred.io", node[0], node[1], TOKEN_AUDIENCE, true],
        ["any node (the group), nodecred.io", "system:node:node-z", node[1], TOKEN_AUDIENCE, true],
        ["a node, another audience", node[0], node[1], "other-audience", false],
        ["a node, the API server's audience", node[0], node[1], "", false],
        ["a node, every audience", node[0], node[1], "*", false],
        ["a plain user, nodecred.io", "alice", ["system:authenticated"], TOKEN_AUDIENCE, false],
        [
          "a ServiceAccount, nodecred.io",
          "system:serviceaccount:audience-rbac:puller",
          ["system:serviceaccounts", "system:authenticated"],
          TOKEN_AUDIENCE,
          false,
        ],
      ];
      for (const [name, user, groups, resource, want] of cases) {
        assert.equal(await allowed(user, groups, resource), want, name);
      }
    });

    it("after the binding is deleted, the node is refused again", async () => {
      const rbacApi = adminKubeConfig(kube.kubeconfig).makeApiClient(RbacAuthorizationV1Api);
      await rbacApi.deleteClusterRoleBinding({ name: "nodecred-token-audience" });
      await eventually("the token request refused again", async () =>
        (await tokenRequest(nodeA, TOKEN_AUDIENCE)).status === 403 ? true : undefined,
      );
      assert.equal(await allowed(node[0], node[1], TOKEN_AUDIENCE), false);
    });
  },
);
