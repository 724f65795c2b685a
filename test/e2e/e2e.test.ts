/**
 * End to end, as a user sees it: `kubectl apply -k` of our manifests (through a test overlay that
 * only points them at this cluster) on a cluster of upstream binaries — etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and one node with a real kubelet, containerd and runc —
 * and our image, built without a Docker engine (scripts/build-image.sh) and pulled from a registry.
 * The node's systemd is a stand-in (node/node-init.ts: PID 1 of the node's namespaces), because a
 * real systemd cannot run here; everything the kubelet and our pods do is real.
 *
 * The steps depend on each other and run in order; each reports how long it took. Timings are
 * printed, never asserted (they belong in scripts/bench-*): what is asserted is the behaviour that
 * makes them short — no refused pull, no kubelet or containerd restart, no template change.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { testEnv } from "../env/index.ts";
import { startRegistry, type RegistryInstance } from "../env/registry.ts";
import type { RegistryEnv } from "../env/types.ts";
import { startControlPlane, type ControlPlane } from "./control-plane.ts";
import {
  hostOf as host,
  kubectlFor,
  nodePaths,
  podManifest,
  type NodePolicy,
  policyOf,
  present,
  providerEntryOf,
  publishImage,
  pushImages,
  refusedPull,
  registryTls,
  secondsUntil,
  secretManifest,
  steps,
  waitFor,
  writeOverlay,
} from "./harness.ts";
import { startNode, type TestNode } from "./node/node.ts";

const nodeName = "e2e-node";
const username = "nodecred-e2e";
const { providerConfig, policy: policyFile } = nodePaths;

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
    initContainerStatuses?: {
      restartCount: number;
      state?: { terminated?: { exitCode: number }; running?: object };
      lastState?: { terminated?: { exitCode: number } };
    }[];
  };
}

describe("end to end: a real kubelet pulls private images through nodecred", () => {
  let dir = "";
  let cp: ControlPlane | undefined;
  let node: TestNode | undefined;
  // private: 127.0.0.1:P (TLS), in matchImages from the start. samePort: 127.0.0.2:P, the same
  // port (so inside the kubelet's envelope from the start), not in matchImages until step 4.
  // newPort: 127.0.0.1:Q, a port the envelope does not cover until step 6. public: no auth, where
  // our own image lives, like a public registry would serve it.
  let privateRegistry: RegistryInstance | undefined;
  let samePortRegistry: RegistryInstance | undefined;
  let newPortRegistry: RegistryInstance | undefined;
  let publicRegistry: RegistryInstance | undefined;
  let password = `e2e-first-${Math.random().toString(36).slice(2, 10)}`;
  const run = steps();
  const { step, timed } = run;

  const kc = kubectlFor(() => cp);
  const { json } = kc;
  const nodeFile = (path: string): string | null => present(node, "node").file(path);
  /** The node's policy file (read for comparison only, never printed). */
  const nodePolicy = (): NodePolicy | null => policyOf(node);
  const journal = (event: string): number =>
    (node?.journal() ?? []).filter((e) => e.event === event).length;
  /** The kubelet's own matchImages and args for nodecred, from the config it reads. */
  const registered = (): { matchImages: string[]; args: string[] } => {
    const entry = providerEntryOf(node);
    assert.ok(entry, "nodecred's entry in the kubelet's provider config");
    return { matchImages: entry.matchImages, args: entry.args ?? [] };
  };
  /** Start counts and the DaemonSet template, to show that a live change touched none of them. */
  const snapshot = async (): Promise<{
    kubelet: number;
    containerd: number;
    generation: number;
  }> => ({
    kubelet: journal("kubelet-start"),
    containerd: journal("containerd-start"),
    generation: (await templateHash()).generation,
  });
  const assertNothingRestarted = async (
    before: Awaited<ReturnType<typeof snapshot>>,
  ): Promise<void> => {
    const now = await snapshot();
    assert.equal(now.kubelet, before.kubelet, "the kubelet was not restarted");
    assert.equal(now.containerd, before.containerd, "containerd was not restarted");
    assert.equal(journal("containerd-exit"), 0);
    assert.equal(now.generation, before.generation, "the DaemonSet template did not change");
  };

  const nodeReady = (): Promise<boolean> => kc.nodeReady(nodeName);

  const nodecredPods = async (): Promise<Pod[]> =>
    (await json<{ items: Pod[] }>(["-n", "nodecred", "get", "pods"])).items.filter(
      (p) => p.metadata.labels?.["app.kubernetes.io/name"] === "nodecred",
    );

  const templateHash = async (): Promise<{ generation: number; hash: string | undefined }> => {
    const ds = await json<{
      metadata: { generation: number };
      spec: { template: { metadata: { annotations?: Record<string, string> } } };
    }>(["-n", "nodecred", "get", "daemonset", "nodecred"]);
    return {
      generation: ds.metadata.generation,
      hash: ds.spec.template.metadata.annotations?.["nodecred.io/kubelet-config-hash"],
    };
  };

  const appPod = (name: string, image: string): string =>
    podManifest({ name, namespace: "apps", image });

  /** Running, or the waiting reason once the pull failed. */
  const podOutcome = (name: string, timeoutMs: number): Promise<string> =>
    kc.podOutcome("apps", name, timeoutMs);
  const pullMessages = (name: string): Promise<string> => kc.podEvents("apps", name);

  const image = (registry: RegistryInstance | undefined, tag: string): string => {
    if (registry === undefined) throw new Error("no registry");
    return `${registry.env.host}/team/app:${tag}`;
  };

  /** Pull refusals the kubelet reported for a pod (repeated Events carry a count). */
  async function refusedPulls(name: string): Promise<number> {
    const events = await json<{
      items: { involvedObject: { name: string }; message: string; count?: number }[];
    }>(["-n", "apps", "get", "events"]);
    return events.items
      .filter((e) => e.involvedObject.name === name)
      .filter((e) => refusedPull.test(e.message))
      .reduce((n, e) => n + (e.count ?? 1), 0);
  }

  const secretYaml = (pw: string): string =>
    secretManifest(
      "nodecred-credentials",
      Object.fromEntries(
        [privateRegistry, samePortRegistry, newPortRegistry].map((r) => [
          host(r),
          { username, password: pw },
        ]),
      ),
    );
  let patterns: string[] = [];
  const matchImagesPatch = (list: readonly string[]): object => ({
    data: { matchImages: `${list.join("\n")}\n` },
  });
  /** Sets matchImages and waits until the node's policy file holds them; seconds it took. */
  const setPatternsLive = async (list: string[]): Promise<number> => {
    patterns = list;
    const start = performance.now();
    await kc.patchConfigMap(matchImagesPatch(list));
    return secondsUntil(
      "the node's policy file to hold the new matchImages",
      start,
      () => JSON.stringify(nodePolicy()?.matchImages) === JSON.stringify(list),
    );
  };
  /** Creates a pod and waits until it runs; seconds from `since` (performance.now()). */
  const runs = async (name: string, image: string, since: number): Promise<number> => {
    await kc(["apply", "-f", "-"], appPod(name, image));
    assert.equal(await podOutcome(name, 60_000), "Running", `pod ${name}`);
    return (performance.now() - since) / 1000;
  };

  before(async () => {
    const env = testEnv();
    dir = mkdtempSync(join(env.workDir, "e2e-"));
    privateRegistry = await startRegistry({
      dir,
      name: "private",
      username,
      password,
      tls: registryTls(dir, "e2e-registry", "127.0.0.1"),
    });
    const port = Number(privateRegistry.env.host.split(":")[1]);
    [samePortRegistry, newPortRegistry, publicRegistry] = await Promise.all([
      startRegistry({
        dir,
        name: "same-port",
        username,
        password,
        listen: { ip: "127.0.0.2", port },
      }),
      startRegistry({ dir, name: "new-port", username, password }),
      startRegistry({ dir, name: "public", username, password, anonymous: true }),
    ]);
    const privates = [privateRegistry, samePortRegistry, newPortRegistry];
    pushImages(
      dir,
      env.image.source,
      privates.map((r) => r.env),
      { username, password },
      ["1", "2", "3", "4", "5"].map((tag) => ["team/app", tag] as const),
    );

    await publishImage(dir, publicRegistry.env);

    cp = await startControlPlane(dir, env.bins);
    const registries: RegistryEnv[] = [...privates, publicRegistry].map((r) => r.env);
    node = await startNode({
      dir,
      name: nodeName,
      kubeletBin: env.bins.kubelet,
      apiServer: cp.kube.server,
      kubeCa: cp.kube.ca,
      registries,
      sandboxImageSource: env.image.source,
    });
    await kc.nodesReady([nodeName], 90_000);
    await kc(["create", "namespace", "apps"]);

    // The test overlay: only what this cluster needs (image, API server address without
    // kube-proxy, the test registry in matchImages). Everything else is as shipped: matching
    // live, defaultCacheDuration 0s.
    patterns = [host(privateRegistry)];
    const imageRegistry = publicRegistry.env.host;
    writeOverlay(dir, "overlay", "manifests", {
      imageRegistry,
      apiServer: cp.kube.server,
      configMap: [{ op: "replace", path: "/data/matchImages", value: `${patterns.join("\n")}\n` }],
    });
    writeOverlay(dir, "overlay-uninstall", "manifests-uninstall", { imageRegistry });
  });

  after(async (t) => {
    t.diagnostic(`timings: ${run.summary()}`);
    await node?.stop();
    await cp?.stop();
    const registries = [privateRegistry, samePortRegistry, newPortRegistry, publicRegistry];
    await Promise.all(registries.flatMap((r) => (r === undefined ? [] : [r.stop()])));
  });

  it(
    "1. apply: the pod installs the provider and the envelope, restarts the kubelet once, becomes Ready",
    step(async (t) => {
      await timed(t, "1 apply", async () => {
        await kc(["apply", "-k", join(dir, "overlay")]);
        // README "Quick start": the Secret is the user's own (here from a file, not argv).
        await kc(["apply", "-f", "-"], secretYaml(password));
        await kc(["-n", "nodecred", "rollout", "status", "daemonset/nodecred", "--timeout=240s"]);
      });
      const flags = nodeFile("/etc/sysconfig/kubelet") ?? "";
      assert.match(
        flags,
        /--image-credential-provider-config=\/etc\/nodecred\/credential-provider-config\.yaml/,
      );
      assert.match(flags, /--image-credential-provider-bin-dir=\/etc\/nodecred\/bin/);
      assert.ok(nodeFile("/etc/nodecred/bin/nodecred") !== null, "provider binary installed");
      // The kubelet registers the envelope (no port and the private registry's port, 1 to 7
      // segments), never the patterns themselves; the provider reads the policy file.
      const port = host(privateRegistry).split(":")[1] ?? "";
      const ladder = (suffix: string): string[] =>
        [1, 2, 3, 4, 5, 6, 7].map((k) => `${Array<string>(k).fill("*").join(".")}${suffix}`);
      const kubeletSide = registered();
      assert.deepEqual(kubeletSide.matchImages, [...ladder(""), ...ladder(`:${port}`)]);
      assert.deepEqual(kubeletSide.args, [`--policy=${policyFile}`, "--cache-duration=0s"]);
      assert.deepEqual(nodePolicy()?.matchImages, patterns);
      assert.equal(nodeFile("/etc/nodecred/credentials/docker-config.json"), null);
      const restarts = (node?.journal() ?? []).filter((e) => e.event === "systemctl-restart");
      assert.equal(restarts.length, 1, "the kubelet restarted exactly once");
      assert.match(
        restarts[0]?.fromPid1 ?? "",
        /node-init\.ts/,
        "nsenter reached the node's PID 1",
      );
      const starts = (node?.journal() ?? []).filter((e) => e.event === "kubelet-start");
      assert.equal(starts.at(-1)?.providerFlags?.length, 2, "the running kubelet has both flags");
      assert.ok(await nodeReady());
      const pods = await nodecredPods();
      assert.equal(pods.length, 1);
      assert.ok(pods[0]?.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
    }),
  );

  it(
    "2. a pod without imagePullSecrets pulls from the private registry; one outside matchImages but inside the envelope fails",
    step(async (t) => {
      await timed(t, "2 private pull", async () => {
        await kc(["apply", "-f", "-"], appPod("private", image(privateRegistry, "1")));
        await kc(["apply", "-f", "-"], appPod("unmatched", image(samePortRegistry, "1")));
        assert.equal(await podOutcome("private", 60_000), "Running");
        assert.match(await podOutcome("unmatched", 60_000), /^(ErrImagePull|ImagePullBackOff)$/);
      });
      // The kubelet ran nodecred for it (the envelope matches); the live rules answered empty.
      assert.match(await pullMessages("unmatched"), refusedPull);
    }),
  );

  it(
    "3. rotation with the old password revoked first: the next pull uses the new one; nothing restarts",
    step(async (t) => {
      const before = await snapshot();
      let fileSeconds = 0;
      let podSeconds = 0;
      await timed(t, "3 rotation", async () => {
        password = `e2e-rotated-${Math.random().toString(36).slice(2, 10)}`;
        for (const r of [privateRegistry, samePortRegistry, newPortRegistry]) {
          await r?.rotatePassword(password);
        }
        const start = performance.now();
        await kc(["apply", "-f", "-"], secretYaml(password));
        // The sync container's part: the node's policy file holds the new password (compared
        // here, never printed). The next pull after that is the one that must work.
        const rotated = password;
        const privateHost = host(privateRegistry);
        fileSeconds = await secondsUntil(
          "the node's policy file to hold the rotated password",
          start,
          () => nodePolicy()?.auths[privateHost]?.password === rotated,
        );
        podSeconds = await runs("rotated", image(privateRegistry, "2"), start);
      });
      const refused = await refusedPulls("rotated");
      t.diagnostic(
        `policy file on the node updated ${fileSeconds.toFixed(2)} s and fresh image running ${podSeconds.toFixed(1)} s after the Secret update; refused pulls: ${String(refused)}`,
      );
      assert.equal(refused, 0, "no pull was refused: nothing cached the old password");
      await assertNothingRestarted(before);
    }),
  );

  it(
    "4. a registry added to matchImages on a port the envelope covers: live, no restart, no rollout",
    step(async (t) => {
      const before = await snapshot();
      let fileSeconds = 0;
      let podSeconds = 0;
      await timed(t, "4 matchImages added live", async () => {
        const start = performance.now();
        fileSeconds = await setPatternsLive([host(privateRegistry), host(samePortRegistry)]);
        podSeconds = await runs("added", image(samePortRegistry, "2"), start);
      });
      t.diagnostic(
        `policy file on the node updated ${fileSeconds.toFixed(2)} s and the newly matched image running ${podSeconds.toFixed(1)} s after the ConfigMap update`,
      );
      assert.equal(await refusedPulls("added"), 0);
      await assertNothingRestarted(before);
      // Where a user looks: one Event on the ConfigMap says it was applied live, and why.
      const described = await waitFor(
        "a ConfigAppliedLive event",
        async () => {
          const text = await kc(["-n", "nodecred", "describe", "configmap", "nodecred-config"]);
          return /ConfigAppliedLive/.test(text) ? text : undefined;
        },
        30_000,
      );
      assert.match(described, /Normal\s+ConfigAppliedLive\s.*no rollout, no kubelet restart/s);
    }),
  );

  it(
    "5. a registry removed from matchImages: its next pull gets no credentials (401), nothing restarts",
    step(async (t) => {
      const before = await snapshot();
      let seconds = 0;
      await timed(t, "5 matchImages removed live", async () => {
        const start = performance.now();
        await setPatternsLive([host(samePortRegistry)]);
        await kc(["apply", "-f", "-"], appPod("removed", image(privateRegistry, "3")));
        assert.match(await podOutcome("removed", 30_000), /^(ErrImagePull|ImagePullBackOff)$/);
        seconds = (performance.now() - start) / 1000;
      });
      t.diagnostic(`pull refused ${seconds.toFixed(1)} s after the ConfigMap update`);
      assert.match(await pullMessages("removed"), refusedPull);
      await assertNothingRestarted(before);
      // The kubelet never logged a provider failure: every exec answered (empty or not).
      assert.doesNotMatch(
        node?.kubeletLog() ?? "",
        /Failed getting credential from external registry credential provider/,
      );
    }),
  );

  let rolledOutPatterns: string[] = [];
  it(
    "6. a registry on a new port needs a new envelope: one template change, one kubelet restart",
    step(async (t) => {
      if (newPortRegistry === undefined) throw new Error("setup");
      const before = await templateHash();
      const oldPod = (await nodecredPods())[0]?.metadata.name;
      const restarts = journal("systemctl-restart");
      const newPort = host(newPortRegistry).split(":")[1] ?? "";
      rolledOutPatterns = [host(samePortRegistry), host(newPortRegistry)];
      patterns = rolledOutPatterns;
      await timed(t, "6 new port rollout", async () => {
        await kc.patchConfigMap(matchImagesPatch(rolledOutPatterns));
        await waitFor(
          "the template to change",
          async () => ((await templateHash()).hash !== before.hash ? true : undefined),
          30_000,
        );
        await kc(["-n", "nodecred", "rollout", "status", "daemonset/nodecred", "--timeout=240s"]);
      });
      const afterRollout = await templateHash();
      assert.equal(afterRollout.generation, before.generation + 1, "one template change");
      const pods = await nodecredPods();
      assert.equal(pods.length, 1);
      assert.notEqual(pods[0]?.metadata.name, oldPod, "the controller replaced the pod");
      assert.equal(journal("systemctl-restart"), restarts + 1, "the kubelet restarted once");
      assert.ok(registered().matchImages.includes(`*.*.*.*:${newPort}`), "the envelope grew");
      const described = await kc(["-n", "nodecred", "describe", "configmap", "nodecred-config"]);
      assert.match(described, new RegExp(`ConfigRolloutStarted\\s.*port ${newPort}`, "s"));
      await kc(["apply", "-f", "-"], appPod("new-port", image(newPortRegistry, "2")));
      assert.equal(await podOutcome("new-port", 60_000), "Running");
      // Still one change a few seconds later: nothing flaps.
      await sleep(5000);
      assert.equal((await templateHash()).generation, afterRollout.generation);
    }),
  );

  it(
    "7. matching: kubelet: the kubelet registers matchImages itself, as before live matching",
    step(async (t) => {
      const before = await templateHash();
      const restarts = journal("systemctl-restart");
      await timed(t, "7 matching kubelet rollout", async () => {
        await kc.patchConfigMap({ data: { matching: "kubelet" } });
        await waitFor(
          "the template to change",
          async () => ((await templateHash()).hash !== before.hash ? true : undefined),
          30_000,
        );
        await kc(["-n", "nodecred", "rollout", "status", "daemonset/nodecred", "--timeout=240s"]);
      });
      assert.equal(journal("systemctl-restart"), restarts + 1, "the kubelet restarted once");
      assert.deepEqual(registered().matchImages, rolledOutPatterns);
      await kc(["apply", "-f", "-"], appPod("kubelet-matched", image(samePortRegistry, "3")));
      await kc(["apply", "-f", "-"], appPod("kubelet-unmatched", image(privateRegistry, "4")));
      assert.equal(await podOutcome("kubelet-matched", 60_000), "Running");
      assert.match(
        await podOutcome("kubelet-unmatched", 60_000),
        /^(ErrImagePull|ImagePullBackOff)$/,
      );
    }),
  );

  it(
    "8a. a ConfigMap the kubelet would reject is refused; no rollout starts, the policy stays",
    step(async (t) => {
      const before = await templateHash();
      const configBefore = nodeFile(providerConfig);
      const policyBefore = nodeFile(policyFile);
      await timed(t, "8a invalid ConfigMap", async () => {
        await kc.patchConfigMap({ data: { defaultCacheDuration: "five minutes" } });
        await waitFor(
          "a ConfigRejected event",
          async () => {
            const events = await json<{ items: { reason: string }[] }>([
              "-n",
              "nodecred",
              "get",
              "events",
            ]);
            return events.items.some((e) => e.reason === "ConfigRejected") ? true : undefined;
          },
          30_000,
        );
      });
      // Where a user looks: the Warning is on the ConfigMap, with the problem.
      const described = await kc(["-n", "nodecred", "describe", "configmap", "nodecred-config"]);
      assert.match(described, /Warning\s+ConfigRejected\s.*defaultCacheDuration/s);
      await sleep(3000);
      assert.deepEqual(await templateHash(), before, "no template change");
      assert.equal(nodeFile(providerConfig), configBefore, "nothing written to the node");
      assert.equal(nodeFile(policyFile), policyBefore, "the policy file kept");
      await kc.patchConfigMap({ data: { defaultCacheDuration: "0s" } });
    }),
  );

  it(
    "8b. a kubelet that does not come back is rolled back; the node is Ready; the rollout stops",
    step(async (t) => {
      const configBefore = nodeFile(providerConfig);
      const broken = "broken.invalid";
      node?.refuseProviderConfigContaining(broken);
      await timed(t, "8b rollback", async () => {
        // With matching: kubelet a matchImages edit changes the kubelet's config.
        await kc.patchConfigMap(matchImagesPatch([...rolledOutPatterns, broken]));
        await waitFor(
          "apply to roll back (exit 6) and then not retry (exit 8)",
          async () => {
            const pod = (await nodecredPods())[0];
            const init = pod?.status.initContainerStatuses?.[0];
            const codes = [
              init?.lastState?.terminated?.exitCode,
              init?.state?.terminated?.exitCode,
            ];
            return codes.includes(8) ? true : undefined;
          },
          240_000,
        );
      });
      assert.ok(journal("fault-injected") >= 1, "the kubelet refused the new config");
      assert.equal(nodeFile(providerConfig), configBefore, "the previous config is back");
      assert.ok(await nodeReady(), "the node is Ready");
      const current = (node?.journal() ?? []).filter((e) => e.event === "kubelet-start").at(-1);
      assert.equal(current?.providerFlags?.length, 2, "the kubelet runs on the previous wiring");
      const pod = (await nodecredPods())[0];
      assert.ok(!pod?.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
      await assert.rejects(
        kc(["-n", "nodecred", "rollout", "status", "daemonset/nodecred", "--timeout=5s"]),
        "the rollout does not complete",
      );
      const events = await json<{ items: { reason: string; note?: string; message?: string }[] }>([
        "get",
        "events",
        "-A",
      ]);
      const rolledBack = events.items.filter((e) => e.reason === "RolledBack");
      assert.ok(rolledBack.length > 0, "a RolledBack event");
      // Given up once the kubelet had exited --health-max-exits (3) times, not after the 120 s
      // health timeout; the reason is in the Event.
      assert.ok(
        rolledBack.some((e) =>
          /kubelet exited 3 times in [\d.]+ s/.test(e.note ?? e.message ?? ""),
        ),
        JSON.stringify(rolledBack),
      );

      // Fixing the ConfigMap resumes the rollout.
      node?.refuseProviderConfigContaining(null);
      await timed(t, "8b recovery", async () => {
        await kc.patchConfigMap(matchImagesPatch(rolledOutPatterns));
        await kc(["-n", "nodecred", "rollout", "status", "daemonset/nodecred", "--timeout=240s"]);
      });
      assert.equal(nodeFile(providerConfig), configBefore);
    }),
  );

  it(
    "9. uninstall as the README says: flags, config, binary and policy gone; private pulls fail again",
    step(async (t) => {
      await timed(t, "9 uninstall", async () => {
        await kc(["-n", "nodecred", "delete", "daemonset", "nodecred"]);
        await kc(["apply", "-k", join(dir, "overlay-uninstall")]);
        await kc([
          "-n",
          "nodecred",
          "rollout",
          "status",
          "daemonset/nodecred-uninstall",
          "--timeout=240s",
        ]);
        await kc(["delete", "-k", join(dir, "overlay-uninstall")]);
        await kc(["delete", "-k", join(dir, "overlay"), "--ignore-not-found"]);
      });
      assert.equal(
        nodeFile("/etc/sysconfig/kubelet"),
        "KUBELET_EXTRA_ARGS=\n",
        "flags file as before",
      );
      assert.equal(nodeFile(providerConfig), null);
      assert.equal(nodeFile("/etc/nodecred/bin/nodecred"), null);
      assert.equal(nodeFile(policyFile), null);
      const current = (node?.journal() ?? []).filter((e) => e.event === "kubelet-start").at(-1);
      assert.deepEqual(current?.providerFlags, [], "the kubelet runs without the provider");
      await waitFor(
        "the node to be Ready",
        async () => ((await nodeReady()) ? true : undefined),
        60_000,
      );
      await kc(["apply", "-f", "-"], appPod("after-uninstall", image(samePortRegistry, "5")));
      assert.match(
        await podOutcome("after-uninstall", 60_000),
        /^(ErrImagePull|ImagePullBackOff)$/,
      );
    }),
  );
});
