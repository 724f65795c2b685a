// Rotation end to end through a real registry, and recovery from a kube-apiserver outage.
// This file starts its own etcd + kube-apiserver (same code as the shared environment) so that it
// can stop and restart the API server without disturbing other tests.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { skopeoTlsArgs, pushImage, writeAuthFile } from "../env/image.ts";
import { testEnv } from "../env/index.ts";
import { startKube, type KubeInstance } from "../env/kube.ts";
import { startRegistry, type RegistryInstance } from "../env/registry.ts";
import { runProvider, staticBinary } from "../provider/run-provider.ts";
import {
  adminKubeConfig,
  createInstalledNamespace,
  dockerConfigSecret,
  eventually,
  scratchDir,
  startSyncProcess,
  syncFlags,
  syncNode,
  type SyncNode,
  type SyncProcess,
} from "./cluster.ts";

const run = promisify(execFile);
const ns = "rotation";
const secretName = "nodecred-credentials";

describe(
  "rotation through a real registry, across a kube-apiserver restart",
  { timeout: 180_000 },
  () => {
    const env = testEnv();
    const dir = scratchDir("resilience");
    let node: SyncNode;
    let kube: KubeInstance;
    let registry: RegistryInstance;
    let sync: SyncProcess;
    let core: CoreV1Api;
    const passwords = ["resilience-old-Pw1", "resilience-new-Pw2", "resilience-third-Pw3"];

    const setSecret = async (password: string): Promise<void> => {
      await core.replaceNamespacedSecret({
        namespace: ns,
        name: secretName,
        body: dockerConfigSecret(secretName, ns, {
          [registry.env.host]: { username: "puller", password },
        }),
      });
    };

    /** What the kubelet would get from the provider for our image, with the synced file. */
    const providerCreds = (): { username: string; password: string } => {
      const image = `${registry.env.host}/${env.image.repository}`;
      const request = JSON.stringify({
        kind: "CredentialProviderRequest",
        apiVersion: "credentialprovider.kubelet.k8s.io/v1",
        image,
      });
      const answer = runProvider(staticBinary(), ["--policy", node.policyFile], request);
      assert.equal(answer.code, 0, answer.stderr);
      const auth = (
        JSON.parse(answer.stdout) as {
          auth: Record<string, { username: string; password: string }>;
        }
      ).auth;
      const creds = auth[registry.env.host];
      assert.ok(creds);
      return creds;
    };

    const pull = async (creds: { username: string; password: string }): Promise<void> => {
      const authFile = writeAuthFile(join(dir, `auth-${Date.now()}.json`), {
        [registry.env.host]: creds,
      });
      await run("skopeo", [
        "inspect",
        "--raw",
        ...skopeoTlsArgs(registry.env, ""),
        "--authfile",
        authFile,
        `docker://${registry.env.host}/${env.image.repository}:${env.image.tag}`,
      ]);
    };

    const synced = (password: string) => () => {
      try {
        return readFileSync(node.policyFile, "utf8").includes(JSON.stringify(password))
          ? true
          : undefined;
      } catch {
        return undefined;
      }
    };

    before(async () => {
      kube = await startKube(join(dir, "kube"), env.bins);
      const kc = adminKubeConfig(kube.kubeconfig);
      core = kc.makeApiClient(CoreV1Api);
      registry = await startRegistry({
        dir,
        name: "rotating",
        username: "puller",
        password: passwords[0] ?? "",
      });
      const push = writeAuthFile(join(dir, "push.json"), { [registry.env.host]: registry.env });
      pushImage(env.image.source, registry.env, env.image.repository, env.image.tag, push);
      // The registry is in matchImages: the provider answers for its images from the policy file.
      const cmData = { matchImages: `${registry.env.host}\n`, defaultCacheDuration: "1m" };
      // Right after install: a DaemonSet template without a hash, a node that applied the config.
      const secret = dockerConfigSecret(secretName, ns, {
        [registry.env.host]: { username: "puller", password: passwords[0] ?? "" },
      });
      await createInstalledNamespace(kc, ns, [secret], cmData);
      node = syncNode(dir, "node", cmData);
      sync = await startSyncProcess(
        syncFlags(node, kube.kubeconfig, { namespace: ns, node: "node-r", pod: "pod-r" }),
      );
      await eventually("first sync", synced(passwords[0] ?? ""));
    });

    after(async () => {
      assert.equal(await sync.stop(), 0);
      for (const pw of passwords) assert.ok(!sync.logs().includes(pw), "password in logs");
      await registry.stop();
      await kube.stopApiserver();
      await kube.etcd.stop();
    });

    it("starts no rollout right after install when the node already runs the ConfigMap's config", async () => {
      const apps = adminKubeConfig(kube.kubeconfig).makeApiClient(AppsV1Api);
      await eventually("a config pass", async () =>
        /nodecred_reconciles_total\{loop="config",result="ok"\} [1-9]/.test(await sync.metrics())
          ? true
          : undefined,
      );
      const ds = await apps.readNamespacedDaemonSet({ namespace: ns, name: "nodecred" });
      assert.equal(ds.metadata?.generation, 1);
      assert.equal(
        ds.spec?.template.metadata?.annotations?.["nodecred.io/kubelet-config-hash"],
        undefined,
      );
    });

    it("after a registry password change and a Secret update, the new password pulls and the old is refused", async () => {
      await pull(providerCreds());
      await registry.rotatePassword(passwords[1] ?? "");
      await assert.rejects(pull(providerCreds()), /unauthorized|authentication required/i);
      await setSecret(passwords[1] ?? "");
      await eventually("rotated file", synced(passwords[1] ?? ""));
      const fresh = providerCreds();
      assert.equal(fresh.password, passwords[1]);
      await pull(fresh);
      await assert.rejects(
        pull({ username: "puller", password: passwords[0] ?? "" }),
        /unauthorized|authentication required/i,
      );
    });

    it("recovers after kube-apiserver goes away and comes back: the next change still arrives", async () => {
      await kube.stopApiserver();
      // Let the watch notice and back off at least once while the server is gone.
      await eventually("a watch error", () =>
        sync.logs().includes('"msg":"watch ended; restarting"') ? true : undefined,
      );
      await kube.startApiserver();
      await registry.rotatePassword(passwords[2] ?? "");
      await setSecret(passwords[2] ?? "");
      await eventually("file after the outage", synced(passwords[2] ?? ""), 60_000);
      await pull(providerCreds());
    });
  },
);
