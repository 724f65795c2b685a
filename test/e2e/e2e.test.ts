/**
 * End to end, as a user sees it: `kubectl apply -k` of our manifests (through a test overlay that
 * only points them at this cluster) on a cluster of upstream binaries — etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and one node with a real kubelet, containerd and runc —
 * and our image, built without a Docker engine (scripts/build-image.sh) and pulled from a registry.
 * The node's systemd is a stand-in (node/node-init.ts: PID 1 of the node's namespaces), because a
 * real systemd cannot run here; everything the kubelet and our pods do is real.
 *
 * The steps depend on each other and run in order; each reports how long it took.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it, type TestContext } from "node:test";
import { testEnv } from "../env/index.ts";
import { pushImage, skopeoTlsArgs, writeAuthFile } from "../env/image.ts";
import { issueCert, newCA } from "../env/pki.ts";
import { startRegistry, type RegistryInstance } from "../env/registry.ts";
import type { RegistryEnv } from "../env/types.ts";
import { dockerConfigSecret, kubectl } from "../sync/cluster.ts";
import { startControlPlane, type ControlPlane } from "./control-plane.ts";
import { startNode, type TestNode } from "./node/node.ts";

const repo = join(import.meta.dirname, "..", "..");
const nodeName = "e2e-node";
const username = "nodecred-e2e";
const providerConfig = "/etc/nodecred/credential-provider-config.yaml";
/** How long the kubelet may keep an answer (the ConfigMap's defaultCacheDuration here). */
const cacheSeconds = 20;

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
  let privateRegistry: RegistryInstance | undefined;
  let otherRegistry: RegistryInstance | undefined;
  let publicRegistry: RegistryInstance | undefined;
  let password = `e2e-first-${Math.random().toString(36).slice(2, 10)}`;
  const timings: [string, number][] = [];

  const kc = async (args: readonly string[], input?: string): Promise<string> => {
    if (cp === undefined) throw new Error("no control plane");
    return kubectl(args, cp.kube.kubeconfig, input);
  };
  const json = async <T>(args: readonly string[]): Promise<T> =>
    JSON.parse(await kc([...args, "-o", "json"])) as T;
  const nodeFile = (path: string): string | null => {
    if (node === undefined) throw new Error("no node");
    return node.file(path);
  };
  /** The password the node's credentials file holds for `host` (for comparison only). */
  const nodePassword = (host: string): string | undefined => {
    const text = nodeFile("/etc/nodecred/credentials/docker-config.json");
    if (text === null) return undefined;
    const auths = (JSON.parse(text) as { auths?: Record<string, { password?: string }> }).auths;
    return auths?.[host]?.password;
  };
  const journal = (event: string): number =>
    (node?.journal() ?? []).filter((e) => e.event === event).length;

  async function waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs: number,
    intervalMs = 500,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const v = await probe();
        if (v !== undefined) return v;
      } catch (err) {
        last = err;
      }
      await sleep(intervalMs);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${String(last)}`);
  }

  let failedStep: string | null = null;
  /** Runs one step; the steps build on each other, so after a failure the rest are skipped. */
  const step =
    (fn: (t: TestContext) => Promise<void>) =>
    async (t: TestContext): Promise<void> => {
      if (failedStep !== null) {
        t.skip(`after the failure of step "${failedStep}"`);
        return;
      }
      try {
        await fn(t);
      } catch (err) {
        failedStep = t.name;
        throw err;
      }
    };

  async function timed(t: TestContext, step: string, body: () => Promise<void>): Promise<void> {
    const start = performance.now();
    try {
      await body();
    } finally {
      const seconds = (performance.now() - start) / 1000;
      timings.push([step, seconds]);
      t.diagnostic(`${step}: ${seconds.toFixed(1)} s`);
    }
  }

  const nodeReady = async (): Promise<boolean> => {
    const n = await json<{ status: { conditions: { type: string; status: string }[] } }>([
      "get",
      "node",
      nodeName,
    ]);
    return n.status.conditions.some((c) => c.type === "Ready" && c.status === "True");
  };

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
      hash: ds.spec.template.metadata.annotations?.["nodecred.io/config-hash"],
    };
  };

  const appPod = (name: string, image: string): string =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "apps" },
      spec: {
        // No pod network here (loopback-only CNI: pods need an IP otherwise); the image pull path
        // does not depend on it.
        hostNetwork: true,
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 0,
        containers: [{ name: "app", image }],
      },
    });

  /** Running, or the waiting reason once the pull failed. */
  async function podOutcome(name: string, timeoutMs: number): Promise<string> {
    return waitFor(
      `pod ${name} to run or fail its pull`,
      async () => {
        const p = await json<Pod>(["-n", "apps", "get", "pod", name]);
        if (p.status.phase === "Running") return "Running";
        const reason = p.status.containerStatuses?.[0]?.state?.waiting?.reason;
        return reason === "ErrImagePull" || reason === "ImagePullBackOff" ? reason : undefined;
      },
      timeoutMs,
    );
  }

  async function pullMessages(name: string): Promise<string> {
    const events = await json<{ items: { involvedObject: { name: string }; message: string }[] }>([
      "-n",
      "apps",
      "get",
      "events",
    ]);
    return events.items
      .filter((e) => e.involvedObject.name === name)
      .map((e) => e.message)
      .join("\n");
  }

  const image = (registry: RegistryInstance | undefined, tag: string): string => {
    if (registry === undefined) throw new Error("no registry");
    return `${registry.env.host}/team/app:${tag}`;
  };

  const secretYaml = (pw: string): string => {
    if (privateRegistry === undefined || otherRegistry === undefined) throw new Error("setup");
    return JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      ...dockerConfigSecret("nodecred-credentials", "nodecred", {
        [privateRegistry.env.host]: { username, password: pw },
        [otherRegistry.env.host]: { username, password: pw },
      }),
    });
  };

  let matched = "";
  const matchImagesPatch = (patterns: readonly string[]): string =>
    JSON.stringify({ data: { matchImages: `${patterns.join("\n")}\n` } });
  /** What a user does: `kubectl patch` of our ConfigMap (a merge patch). */
  const patchConfigMap = async (patch: string): Promise<void> => {
    await kc([
      "-n",
      "nodecred",
      "patch",
      "configmap",
      "nodecred-config",
      "--type=merge",
      "-p",
      patch,
    ]);
  };

  before(async () => {
    const env = testEnv();
    dir = mkdtempSync(join(env.workDir, "e2e-"));
    const pki = join(dir, "pki");
    mkdirSync(join(pki, "ca-dir"), { recursive: true });
    const ca = newCA(pki, "e2e-registry-ca");
    execFileSync("cp", [ca.cert, join(pki, "ca-dir", "ca.crt")]);
    const pair = issueCert(ca, pki, "registry", {
      commonName: "e2e-registry",
      altNames: ["IP:127.0.0.1"],
      usage: "server",
    });
    // Private (TLS, in matchImages from the start), other (plain HTTP, with the same account, not
    // in matchImages until step 4), public (no auth: where our own image lives, like a public
    // registry would serve it).
    [privateRegistry, otherRegistry, publicRegistry] = await Promise.all([
      startRegistry({
        dir,
        name: "private",
        username,
        password,
        tls: { pair, caFile: ca.cert, caDir: join(pki, "ca-dir") },
      }),
      startRegistry({ dir, name: "other", username, password }),
      startRegistry({ dir, name: "public", username, password, anonymous: true }),
    ]);
    matched = privateRegistry.env.host;
    const auth = writeAuthFile(join(dir, "auth.json"), {
      [privateRegistry.env.host]: { username, password },
      [otherRegistry.env.host]: { username, password },
    });
    for (const tag of ["1", "2", "3", "4"]) {
      pushImage(env.image.source, privateRegistry.env, "team/app", tag, auth);
      pushImage(env.image.source, otherRegistry.env, "team/app", tag, auth);
    }
    rmSync(auth);

    const layout = join(dir, "nodecred-image");
    execFileSync("bash", [join(repo, "scripts/build-image.sh"), layout, "0.1.0"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    execFileSync("skopeo", [
      "copy",
      "--quiet",
      ...skopeoTlsArgs(publicRegistry.env, "dest-"),
      `oci:${layout}:0.1.0`,
      `docker://${publicRegistry.env.host}/nodecred/nodecred:0.1.0`,
    ]);

    cp = await startControlPlane(dir, env.bins);
    const registries: RegistryEnv[] = [privateRegistry.env, otherRegistry.env, publicRegistry.env];
    node = await startNode({
      dir,
      name: nodeName,
      kubeletBin: env.bins.kubelet,
      apiServer: cp.kube.server,
      kubeCa: cp.kube.ca,
      registries,
      sandboxImageSource: env.image.source,
    });
    await waitFor(
      "the node to be Ready",
      async () => ((await nodeReady()) ? true : undefined),
      90_000,
    );
    await kc(["create", "namespace", "apps"]);

    // The test overlay: only what this cluster needs (image, API server address without
    // kube-proxy, the test registry in matchImages, a short cache for step 3).
    const apiPort = new URL(cp.kube.server).port;
    const apiEnv = [
      { name: "KUBERNETES_SERVICE_HOST", value: "127.0.0.1" },
      { name: "KUBERNETES_SERVICE_PORT", value: apiPort },
    ];
    const images = [
      {
        name: "nodecred/nodecred",
        newName: `${publicRegistry.env.host}/nodecred/nodecred`,
        newTag: "0.1.0",
      },
    ];
    // A kustomization in the run's dir on top of one of the repo's (kustomize wants it relative).
    const writeOverlay = (name: string, base: string, extra: Record<string, unknown>): void => {
      mkdirSync(join(dir, name));
      writeFileSync(
        join(dir, name, "kustomization.yaml"),
        JSON.stringify({
          apiVersion: "kustomize.config.k8s.io/v1beta1",
          kind: "Kustomization",
          resources: [relative(join(dir, name), join(repo, base))],
          images,
          ...extra,
        }),
      );
    };
    writeOverlay("overlay", "manifests", {
      patches: [
        {
          target: { kind: "DaemonSet", name: "nodecred" },
          patch: JSON.stringify(
            ["initContainers/0", "containers/0"].flatMap((c) =>
              apiEnv.map((value) => ({
                op: "add",
                path: `/spec/template/spec/${c}/env/-`,
                value,
              })),
            ),
          ),
        },
        {
          target: { kind: "ConfigMap", name: "nodecred-config" },
          patch: JSON.stringify([
            { op: "replace", path: "/data/matchImages", value: `${matched}\n` },
            { op: "replace", path: "/data/defaultCacheDuration", value: `${cacheSeconds}s` },
          ]),
        },
      ],
    });
    writeOverlay("overlay-uninstall", "manifests-uninstall", {});
  });

  after(async (t) => {
    t.diagnostic(`timings: ${timings.map(([s, secs]) => `${s} ${secs.toFixed(1)} s`).join("; ")}`);
    await node?.stop();
    await cp?.stop();
    await Promise.all([privateRegistry?.stop(), otherRegistry?.stop(), publicRegistry?.stop()]);
  });

  it(
    "1. apply: the pod installs the provider, restarts the kubelet once, becomes Ready",
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
      assert.match(nodeFile(providerConfig) ?? "", new RegExp(matched.replace(/\./g, "\\.")));
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
    "2. a pod without imagePullSecrets pulls from the private registry; an unmatched one fails",
    step(async (t) => {
      await timed(t, "2 private pull", async () => {
        await kc(["apply", "-f", "-"], appPod("private", image(privateRegistry, "1")));
        await kc(["apply", "-f", "-"], appPod("unmatched", image(otherRegistry, "1")));
        assert.equal(await podOutcome("private", 60_000), "Running");
        assert.match(await podOutcome("unmatched", 60_000), /^(ErrImagePull|ImagePullBackOff)$/);
      });
      assert.match(await pullMessages("unmatched"), /401|[Uu]nauthorized|authorization failed/);
    }),
  );

  it(
    "3. rotation: new registry password + Secret, a fresh image pulls, nothing restarts",
    step(async (t) => {
      const kubeletStarts = journal("kubelet-start");
      const containerdStarts = journal("containerd-start");
      let seconds = 0;
      let fileSeconds = 0;
      await timed(t, "3 rotation", async () => {
        password = `e2e-rotated-${Math.random().toString(36).slice(2, 10)}`;
        await privateRegistry?.rotatePassword(password);
        await otherRegistry?.rotatePassword(password);
        const start = performance.now();
        await kc(["apply", "-f", "-"], secretYaml(password));
        await kc(["apply", "-f", "-"], appPod("rotated", image(privateRegistry, "2")));
        // The sync container's part: the node's file holds the new password (compared here, never
        // printed). Checked while the pod waits for the kubelet.
        const host = privateRegistry?.env.host ?? "";
        const rotated = password;
        await waitFor(
          "the node's credentials file to hold the rotated password",
          () => Promise.resolve(nodePassword(host) === rotated ? true : undefined),
          30_000,
          50,
        );
        fileSeconds = (performance.now() - start) / 1000;
        await waitFor(
          "the fresh image to run with the rotated password",
          async () => {
            const p = await json<Pod>(["-n", "apps", "get", "pod", "rotated"]);
            return p.status.phase === "Running" ? true : undefined;
          },
          // The kubelet may hold the old answer for the cache duration, then retries the pull with
          // its back-off (10 s, 20 s, ...).
          (cacheSeconds + 45) * 1000,
        );
        seconds = (performance.now() - start) / 1000;
      });
      // Why the pod took longer than the file: pulls refused with the kubelet's cached answer
      // (repeated Events are aggregated: their count says how often).
      const events = await json<{
        items: { involvedObject: { name: string }; message: string; count?: number }[];
      }>(["-n", "apps", "get", "events"]);
      const refused = events.items
        .filter((e) => e.involvedObject.name === "rotated")
        .filter((e) => /401|[Uu]nauthorized|authorization failed/.test(e.message))
        .reduce((n, e) => n + (e.count ?? 1), 0);
      t.diagnostic(
        `credentials file on the node updated ${fileSeconds.toFixed(2)} s and fresh image running ${seconds.toFixed(1)} s after the Secret update; before that the kubelet's cached (old) answer was refused ${String(refused)} time(s), then its pull back-off`,
      );
      assert.equal(journal("kubelet-start"), kubeletStarts, "the kubelet was not restarted");
      assert.equal(journal("containerd-start"), containerdStarts, "containerd was not restarted");
      assert.equal(journal("containerd-exit"), 0);
    }),
  );

  let step4Patterns: string[] = [];
  it(
    "4. a matchImages edit changes the template once, replaces the pod, restarts the kubelet once",
    step(async (t) => {
      if (otherRegistry === undefined) throw new Error("setup");
      const before = await templateHash();
      const oldPod = (await nodecredPods())[0]?.metadata.name;
      const restarts = journal("systemctl-restart");
      step4Patterns = [matched, otherRegistry.env.host];
      await timed(t, "4 matchImages rollout", async () => {
        await patchConfigMap(matchImagesPatch(step4Patterns));
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
      assert.match(
        nodeFile(providerConfig) ?? "",
        new RegExp(otherRegistry.env.host.replace(/\./g, "\\.")),
      );
      await kc(["apply", "-f", "-"], appPod("newly-matched", image(otherRegistry, "2")));
      assert.equal(await podOutcome("newly-matched", 60_000), "Running");
      // Still one change a few seconds later: nothing flaps.
      await sleep(5000);
      assert.equal((await templateHash()).generation, afterRollout.generation);
    }),
  );

  it(
    "5a. a ConfigMap the kubelet would reject is refused; no rollout starts",
    step(async (t) => {
      const before = await templateHash();
      const configBefore = nodeFile(providerConfig);
      await timed(t, "5a invalid ConfigMap", async () => {
        await patchConfigMap(JSON.stringify({ data: { defaultCacheDuration: "five minutes" } }));
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
      await patchConfigMap(JSON.stringify({ data: { defaultCacheDuration: `${cacheSeconds}s` } }));
    }),
  );

  it(
    "5b. a kubelet that does not come back is rolled back; the node is Ready; the rollout stops",
    step(async (t) => {
      const configBefore = nodeFile(providerConfig);
      const broken = "broken.invalid";
      node?.refuseProviderConfigContaining(broken);
      await timed(t, "5b rollback", async () => {
        await patchConfigMap(matchImagesPatch([...step4Patterns, broken]));
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
      await timed(t, "5b recovery", async () => {
        await patchConfigMap(matchImagesPatch(step4Patterns));
        await kc(["-n", "nodecred", "rollout", "status", "daemonset/nodecred", "--timeout=240s"]);
      });
      assert.equal(nodeFile(providerConfig), configBefore);
    }),
  );

  it(
    "6. uninstall as the README says: flags, config and binary gone; private pulls fail again",
    step(async (t) => {
      await timed(t, "6 uninstall", async () => {
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
      assert.equal(nodeFile("/etc/nodecred/credentials/docker-config.json"), null);
      const current = (node?.journal() ?? []).filter((e) => e.event === "kubelet-start").at(-1);
      assert.deepEqual(current?.providerFlags, [], "the kubelet runs without the provider");
      await waitFor(
        "the node to be Ready",
        async () => ((await nodeReady()) ? true : undefined),
        60_000,
      );
      await kc(["apply", "-f", "-"], appPod("after-uninstall", image(privateRegistry, "3")));
      assert.match(
        await podOutcome("after-uninstall", 60_000),
        /^(ErrImagePull|ImagePullBackOff)$/,
      );
    }),
  );
});
