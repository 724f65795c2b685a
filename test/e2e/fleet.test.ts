/**
 * A fleet of three real nodes, each with its own kubelet, containerd and runc in its own PID,
 * mount and network namespace (node/network.ts: veth pairs to a bridge this test creates; the
 * API server and the registries listen on the bridge's address, nothing is routed), nodecred
 * installed with `kubectl apply -k`. The three kubelets are three minors: the pinned release,
 * scripts/k8s-next and scripts/k8s-prev.
 *
 * What one node cannot show: rotation and live-policy edits reach every node with no restart; a
 * change that needs a kubelet restart rolls through the nodes `maxUnavailable` (1) at a time; a
 * kubelet that fails on the second node is rolled back there and the rollout stops before the
 * third, whose kubelet is never restarted; fixing the ConfigMap resumes it; the per-node version
 * gate of credentialSets on a mixed-version fleet.
 *
 * The DaemonSet controller replaces nodes in no fixed order, so "the second node fails" is made
 * deterministic with the nodes' fault knob: every kubelet refuses the new config, and the knob is
 * cleared on the first node the controller picks, while its old pod is still terminating (its
 * kubelet restarts only once the new pod's apply runs). The next node picked fails.
 *
 * Behaviour is asserted (start counts from the node journals, pod readiness, file contents);
 * timings are printed, never asserted (they belong in scripts/bench-*).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { testEnv } from "../env/index.ts";
import { apiGet } from "../env/kube.ts";
import { freePort } from "../env/ports.ts";
import { startRegistry, type RegistryInstance } from "../env/registry.ts";
import { kubectlNodecred, serviceAccountKubeconfig, type CommandResult } from "../sync/cluster.ts";
import { startControlPlane, type ControlPlane } from "./control-plane.ts";
import {
  hostOf,
  kubectlFor,
  nodePaths,
  podManifest,
  type NodePolicy,
  policyOf,
  providerEntryOf as providerEntry,
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
import { createBridge, type TestBridge } from "./node/network.ts";
import { startNode, type TestNode } from "./node/node.ts";

const username = "fleet-robot";
const { providerConfig } = nodePaths;
/** How long the third node is watched after the second one's rollback. */
const holdMs = 30_000;

interface PodView {
  readonly uid: string;
  readonly name: string;
  readonly node: string;
  readonly hash: string;
  readonly ready: boolean;
  readonly deleting: boolean;
  /** Exit codes of the apply init container, current and last run. */
  readonly applyExits: readonly number[];
}

interface PodJson {
  metadata: {
    uid: string;
    name: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { nodeName?: string };
  status: {
    conditions?: { type: string; status: string }[];
    initContainerStatuses?: {
      state?: { terminated?: { exitCode: number } };
      lastState?: { terminated?: { exitCode: number } };
    }[];
  };
}

function podView(p: PodJson): PodView {
  const init = p.status.initContainerStatuses?.[0];
  return {
    uid: p.metadata.uid,
    name: p.metadata.name,
    node: p.spec.nodeName ?? "",
    hash: p.metadata.labels?.["controller-revision-hash"] ?? "",
    ready: p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    deleting: p.metadata.deletionTimestamp !== undefined,
    applyExits: [init?.state?.terminated?.exitCode, init?.lastState?.terminated?.exitCode].filter(
      (c): c is number => c !== undefined,
    ),
  };
}

interface PodHistory {
  /** Empty until the scheduler binds the pod. */
  node: string;
  readonly hash: string;
  /** When the test first saw the pod Ready (Date.now()). */
  readyAt?: number;
}

describe("a fleet of three real nodes: rollouts node by node, stopped at the failing node", () => {
  let dir = "";
  let bridge: TestBridge | undefined;
  let cp: ControlPlane | undefined;
  const nodes: TestNode[] = [];
  /** Kubelet minor and address (on the test bridge) per node name. */
  const minors = new Map<string, number>();
  const addresses = new Map<string, string>();
  let registry: RegistryInstance | undefined;
  let publicRegistry: RegistryInstance | undefined;
  let password = `fleet-first-${Math.random().toString(36).slice(2, 10)}`;
  const run = steps();
  const { step, timed } = run;
  const kc = kubectlFor(() => cp);

  const host = (): string => hostOf(registry);
  const nodeNamed = (name: string): TestNode => {
    const n = nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  };
  const count = (node: TestNode, event: string, since = 0): number =>
    node.journal().filter((e) => e.event === event && e.at >= since).length;
  const startCounts = (): Map<string, number> =>
    new Map(nodes.map((n) => [n.name, count(n, "kubelet-start")]));
  const assertNoKubeletStarted = (before: Map<string, number>): void => {
    for (const n of nodes) {
      assert.equal(
        count(n, "kubelet-start"),
        before.get(n.name),
        `kubelet of ${n.name} not restarted`,
      );
      assert.equal(count(n, "containerd-start"), 1, `containerd of ${n.name} not restarted`);
    }
  };
  /** Waits until every node's policy file `holds`; seconds since `start` (performance.now()). */
  const everyPolicy = (
    what: string,
    start: number,
    holds: (policy: NodePolicy) => boolean,
  ): Promise<number> =>
    secondsUntil(`every node's policy file to hold ${what}`, start, () =>
      nodes.every((n) => {
        const policy = policyOf(n);
        return policy !== null && holds(policy);
      }),
    );
  const generation = (): Promise<number> => kc.daemonSetGeneration();

  // --- nodecred's pods, watched in-process (a watch on the API server: events as they happen) ---
  /** The pods as last seen, by uid. */
  const live = new Map<string, PodView>();
  let pods: PodView[] = [];
  const history = new Map<string, PodHistory>();
  const stopWatching = new AbortController();
  let watcher: Promise<void> | undefined;
  const podsPath =
    "/api/v1/namespaces/nodecred/pods?labelSelector=app.kubernetes.io%2Fname%3Dnodecred";
  const seen = (p: PodView, now: number): void => {
    const h = history.get(p.uid) ?? { node: p.node, hash: p.hash };
    h.node = p.node;
    if (p.ready && h.readyAt === undefined) h.readyAt = now;
    history.set(p.uid, h);
  };
  /** A fresh list (the watch keeps it current between two lists). */
  const refreshPods = async (): Promise<PodView[]> => {
    if (cp === undefined) throw new Error("no control plane");
    const r = await apiGet(cp.kube, podsPath);
    if (r.status !== 200) throw new Error(`pods: ${String(r.status)}`);
    const now = Date.now();
    const listed = (JSON.parse(r.body) as { items: PodJson[] }).items.map(podView);
    live.clear();
    for (const p of listed) {
      seen(p, now);
      live.set(p.uid, p);
    }
    pods = listed;
    return listed;
  };
  /** One watch request, until the API server ends it or the test stops watching. */
  const watchOnce = (): Promise<void> =>
    new Promise((resolve) => {
      const kube = cp?.kube;
      if (kube === undefined) {
        resolve();
        return;
      }
      const req = request(
        `${kube.server}${podsPath}&watch=1`,
        {
          ca: readFileSync(kube.caFile),
          cert: readFileSync(kube.admin.cert),
          key: readFileSync(kube.admin.key),
          signal: stopWatching.signal,
        },
        (res) => {
          // Without a resourceVersion the watch starts with every current pod (ADDED).
          live.clear();
          let buf = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            const now = Date.now();
            buf += chunk;
            for (let nl = buf.indexOf("\n"); nl !== -1; nl = buf.indexOf("\n")) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (line.trim() === "") continue;
              const event = JSON.parse(line) as { type: string; object: PodJson };
              if (event.type !== "ADDED" && event.type !== "MODIFIED" && event.type !== "DELETED") {
                continue;
              }
              const p = podView(event.object);
              seen(p, now);
              if (event.type === "DELETED") live.delete(p.uid);
              else live.set(p.uid, p);
              pods = [...live.values()];
            }
          });
          res.once("end", resolve);
          res.once("error", () => {
            resolve();
          });
        },
      );
      req.once("error", () => {
        resolve();
      });
      req.end();
    });
  const startWatching = (): void => {
    watcher = (async () => {
      const stopped = (): boolean => stopWatching.signal.aborted;
      while (!stopped()) {
        await watchOnce();
        if (!stopped()) await sleep(200);
      }
    })();
  };
  const podOn = (node: string, hash?: string): PodView | undefined =>
    pods.find((p) => p.node === node && !p.deleting && (hash === undefined || p.hash === hash));
  const currentHash = async (): Promise<string> => {
    const revisions = await kc.json<{
      items: { metadata: { name: string }; revision: number }[];
    }>(["-n", "nodecred", "get", "controllerrevisions"]);
    const latest = revisions.items.sort((a, b) => b.revision - a.revision)[0];
    // The pods' controller-revision-hash is the revision name's suffix.
    return latest?.metadata.name.replace(/^nodecred-/, "") ?? "";
  };
  const waitForHashChange = async (from: string): Promise<string> =>
    waitFor(
      "the DaemonSet template to change",
      async () => {
        const h = await currentHash();
        return h !== from && h !== "" ? h : undefined;
      },
      30_000,
    );
  /**
   * The fleet view a user reads (README "Checking status"): one Lease per node, each reporting the
   * Secret's and the ConfigMap's current resourceVersions, state `current`, and owned by the
   * node's live nodecred pod (so the controller-manager's garbage collector removes it with the
   * pod). Waits until all three say so (a rollout replaces the pods, and with them the owners).
   */
  const fleetReportsCurrent = async (): Promise<void> => {
    const version = async (kind: string, name: string): Promise<string> =>
      (
        await kc.json<{ metadata: { resourceVersion: string } }>([
          "-n",
          "nodecred",
          "get",
          kind,
          name,
        ])
      ).metadata.resourceVersion;
    const secretVersion = await version("secret", "nodecred-credentials");
    const configVersion = await version("configmap", "nodecred-config");
    let last = "";
    await waitFor(
      "every node's Lease to report the current Secret and ConfigMap, owned by its live pod",
      async () => {
        await refreshPods();
        const leases = await kc.json<{
          items: {
            metadata: {
              name: string;
              labels?: Record<string, string>;
              ownerReferences?: { kind: string; uid: string }[];
            };
          }[];
        }>(["-n", "nodecred", "get", "leases", "-l", "app.kubernetes.io/name=nodecred"]);
        const wrong = nodes.flatMap((n) => {
          const lease = leases.items.find((l) => l.metadata.name === n.name);
          const labels = lease?.metadata.labels ?? {};
          const owner = lease?.metadata.ownerReferences?.[0];
          const pod = podOn(n.name);
          const ok =
            labels["nodecred.io/state"] === "current" &&
            labels["nodecred.io/credentials-version"] === secretVersion &&
            labels["nodecred.io/config-version"] === configVersion &&
            owner?.kind === "Pod" &&
            pod !== undefined &&
            owner.uid === pod.uid;
          return ok
            ? []
            : [`${n.name}: ${JSON.stringify({ labels, owner: owner?.uid, pod: pod?.uid })}`];
        });
        last = wrong.join("; ");
        return wrong.length === 0 && leases.items.length === nodes.length ? true : undefined;
      },
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)} (last seen: ${last})`);
    });
  };
  /**
   * `kubectl nodecred status` (dist/kubectl-nodecred, found by kubectl on PATH) as a user bound to
   * `view` only, in nodecred's namespace: the Leases come from nodecred-view through the
   * controller-manager's aggregation into view.
   */
  let viewerKubeconfig = "";
  const status = async (): Promise<CommandResult> => {
    if (cp === undefined) throw new Error("no control plane");
    if (viewerKubeconfig === "") {
      await kc(["-n", "nodecred", "create", "serviceaccount", "fleet-viewer"]);
      await kc([
        "-n",
        "nodecred",
        "create",
        "rolebinding",
        "fleet-viewer",
        "--clusterrole=view",
        "--serviceaccount=nodecred:fleet-viewer",
      ]);
      viewerKubeconfig = await serviceAccountKubeconfig(
        dir,
        "nodecred",
        "fleet-viewer",
        cp.kube.kubeconfig,
      );
    }
    return kubectlNodecred(["status", "--kubeconfig", viewerKubeconfig]);
  };

  const rolledOut = (): Promise<string> =>
    kc(["-n", "nodecred", "rollout", "status", "daemonset/nodecred", "--timeout=300s"]);

  const appPod = (name: string, node: string, image: string): string =>
    podManifest({ name, namespace: "apps", image, node, pullPolicy: "Always" });
  /** One pod per node pulls `image` (no imagePullSecrets); all must run, none refused. */
  const pullsOnEveryNode = async (prefix: string, image: string): Promise<void> => {
    await Promise.all(
      nodes.map(async (n) => {
        const name = `${prefix}-${n.name}`;
        await kc(["apply", "-f", "-"], appPod(name, n.name, image));
        const outcome = await kc.podOutcome("apps", name, 90_000);
        assert.equal(outcome, "Running", `${name}: ${await kc.podEvents("apps", name)}`);
        assert.doesNotMatch(await kc.podEvents("apps", name), refusedPull);
      }),
    );
  };
  const secret = (name: string, registryHost: string, user: string, pw: string): string =>
    secretManifest(name, { [registryHost]: { username: user, password: pw } });
  const matchImages = (list: readonly string[]): object => ({
    data: { matchImages: `${list.join("\n")}\n` },
  });

  /**
   * Restart windows of one rollout, from `since`: per node, the stand-in systemctl's restart
   * (journal) to the first moment its new pod (revision `hash`) was seen Ready.
   */
  const restartWindows = (
    since: number,
    hash: string,
  ): { node: string; restartAt: number; readyAt: number }[] =>
    nodes
      .map((n) => {
        const restarts = n
          .journal()
          .filter((e) => e.event === "systemctl-restart" && e.at >= since);
        assert.equal(restarts.length, 1, `${n.name} restarted its kubelet exactly once`);
        const ready = [...history.values()].find(
          (h) => h.node === n.name && h.hash === hash && h.readyAt !== undefined,
        );
        assert.ok(ready?.readyAt !== undefined, `${n.name}'s new pod was seen Ready`);
        return { node: n.name, restartAt: restarts[0]?.at ?? 0, readyAt: ready.readyAt };
      })
      .sort((a, b) => a.restartAt - b.restartAt);
  /** `node restart +s → Ready +s (window s)`, and the hand-over from one node to the next. */
  const describeWindows = (
    windows: readonly { node: string; restartAt: number; readyAt: number }[],
    since: number,
  ): string => {
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    return windows
      .map((w, i) => {
        const prev = windows[i - 1];
        const handOver = prev === undefined ? "" : ` (${s(w.restartAt - prev.readyAt)} after)`;
        return `${w.node} restart +${s(w.restartAt - since)}${handOver} → Ready +${s(w.readyAt - since)} (window ${s(w.readyAt - w.restartAt)})`;
      })
      .join("; ");
  };

  before(async () => {
    const env = testEnv();
    dir = mkdtempSync(join(env.workDir, "fleet-"));
    bridge = createBridge();
    const address = bridge.address;
    const [privatePort, publicPort] = [await freePort(), await freePort()];
    [registry, publicRegistry] = await Promise.all([
      startRegistry({
        dir,
        name: "private",
        username,
        password,
        tls: registryTls(dir, "fleet-registry", address),
        listen: { ip: address, port: privatePort },
      }),
      startRegistry({
        dir,
        name: "public",
        username,
        password,
        anonymous: true,
        listen: { ip: address, port: publicPort },
      }),
    ]);
    const published = publishImage(dir, publicRegistry.env);
    pushImages(dir, env.image.source, [registry.env], { username, password }, [
      ["team/app", "1"],
      ["team/app", "2"],
      ["more/app", "1"],
    ]);

    cp = await startControlPlane(dir, env.bins, { address });
    const kubelets = [env.bins.kubelet, env.bins.kubeletNext, env.bins.kubeletPrev];
    const started = await Promise.allSettled(
      kubelets.map(async (bin, i) => {
        const version = execFileSync(bin, ["--version"], { encoding: "utf8" });
        const minor = Number(/v1\.(\d+)\./.exec(version)?.[1]);
        const name = `fleet-1-${String(minor)}`;
        minors.set(name, minor);
        addresses.set(name, bridge?.nodeAddress(i + 1) ?? "");
        if (cp === undefined || bridge === undefined) throw new Error("setup");
        const node = await startNode({
          dir,
          name,
          kubeletBin: bin,
          apiServer: cp.kube.server,
          kubeCa: cp.kube.ca,
          registries: [registry, publicRegistry].flatMap((r) => (r ? [r.env] : [])),
          sandboxImageSource: env.image.source,
          network: bridge.attachment(i + 1),
        });
        nodes.push(node);
      }),
    );
    for (const s of started) if (s.status === "rejected") throw s.reason;
    nodes.sort((a, b) => a.name.localeCompare(b.name));
    await published;
    await kc.nodesReady(
      nodes.map((n) => n.name),
      120_000,
    );
    await kc(["create", "namespace", "apps"]);
    writeOverlay(dir, "overlay", "manifests", {
      imageRegistry: publicRegistry.env.host,
      apiServer: cp.kube.server,
      configMap: [{ op: "replace", path: "/data/matchImages", value: `${host()}/team\n` }],
    });
    startWatching();
  });

  after(async (t) => {
    t.diagnostic(`timings: ${run.summary()}`);
    stopWatching.abort();
    await watcher;
    // Each part on its own: one that fails must not leave the others running.
    const parts: (() => Promise<unknown>)[] = [
      () => Promise.all(nodes.map((n) => n.stop())),
      async () => cp?.stop(),
      async () => Promise.all([registry?.stop(), publicRegistry?.stop()]),
      () => {
        bridge?.remove();
        return Promise.resolve();
      },
    ];
    for (const part of parts) {
      try {
        await part();
      } catch (err) {
        t.diagnostic(`cleanup: ${String(err)}`);
      }
    }
  });

  it(
    "1. install: three nodes Ready, three nodecred pods Ready, a private image pulls on each node",
    step(async (t) => {
      t.diagnostic(
        `nodes: ${nodes.map((n) => `${n.name} (kubelet 1.${String(minors.get(n.name))})`).join(", ")} on ${bridge?.name ?? ""} ${bridge?.address ?? ""}/24`,
      );
      await timed(t, "1 install", async () => {
        await kc(["apply", "-k", join(dir, "overlay")]);
        await kc(["apply", "-f", "-"], secret("nodecred-credentials", host(), username, password));
        await rolledOut();
      });
      await refreshPods();
      for (const n of nodes) {
        assert.ok(await kc.nodeReady(n.name), `${n.name} Ready`);
        assert.ok(podOn(n.name)?.ready, `nodecred Ready on ${n.name}`);
        assert.equal(count(n, "systemctl-restart"), 1, `${n.name}: the kubelet restarted once`);
        const last = n
          .journal()
          .filter((e) => e.event === "kubelet-start")
          .at(-1);
        assert.equal(last?.providerFlags?.length, 2, `${n.name}'s kubelet runs with the provider`);
        assert.deepEqual(policyOf(n)?.matchImages, [`${host()}/team`]);
        // The node's own network: its address on the test's /24 and loopback, no other route.
        const inNode = (args: string[]): string =>
          execFileSync("nsenter", [`--net=/proc/${String(n.initPid)}/ns/net`, "ip", ...args], {
            encoding: "utf8",
          });
        const address = addresses.get(n.name);
        const inet = inNode(["-o", "addr", "show"])
          .split("\n")
          .flatMap((l) => /\sinet6?\s(\S+)/.exec(l)?.[1] ?? []);
        assert.deepEqual(
          inet.filter((a) => a !== "127.0.0.1/8" && a !== "::1/128"),
          [`${address ?? ""}/24`],
          `${n.name}: loopback and its address on the test's /24, nothing else`,
        );
        assert.doesNotMatch(inNode(["route", "show", "table", "all"]), /default/);
        const node = await kc.json<{ status: { addresses: { type: string; address: string }[] } }>([
          "get",
          "node",
          n.name,
        ]);
        assert.deepEqual(
          node.status.addresses.filter((a) => a.type === "InternalIP").map((a) => a.address),
          [address],
        );
      }
      assert.equal(pods.length, 3);
      await timed(t, "1 private pulls", () => pullsOnEveryNode("first", `${host()}/team/app:1`));
    }),
  );

  it(
    "2. rotation: every node's policy file has the new password, pulls work with it, no kubelet restarts",
    step(async (t) => {
      const before = startCounts();
      const generationBefore = await generation();
      let fileSeconds = 0;
      await timed(t, "2 rotation", async () => {
        password = `fleet-rotated-${Math.random().toString(36).slice(2, 10)}`;
        await registry?.rotatePassword(password);
        const start = performance.now();
        await kc(["apply", "-f", "-"], secret("nodecred-credentials", host(), username, password));
        const rotated = password;
        fileSeconds = await everyPolicy(
          "the rotated password",
          start,
          (p) => p.auths[host()]?.password === rotated,
        );
        await pullsOnEveryNode("rotated", `${host()}/team/app:2`);
      });
      t.diagnostic(
        `policy files on all three nodes ${fileSeconds.toFixed(2)} s after the Secret update`,
      );
      assertNoKubeletStarted(before);
      assert.equal(await generation(), generationBefore, "no DaemonSet template change");
      await fleetReportsCurrent();
    }),
  );

  it(
    "3. a live matchImages edit inside the envelope reaches all three nodes, no restart",
    step(async (t) => {
      const before = startCounts();
      const configs = nodes.map((n) => n.file(providerConfig));
      const generationBefore = await generation();
      const patterns = [`${host()}/team`, `${host()}/more`];
      let fileSeconds = 0;
      await timed(t, "3 live matchImages", async () => {
        const start = performance.now();
        await kc.patchConfigMap(matchImages(patterns));
        fileSeconds = await everyPolicy(
          "the new matchImages",
          start,
          (p) => JSON.stringify(p.matchImages) === JSON.stringify(patterns),
        );
        await pullsOnEveryNode("more", `${host()}/more/app:1`);
      });
      t.diagnostic(
        `policy files on all three nodes ${fileSeconds.toFixed(2)} s after the ConfigMap update`,
      );
      assertNoKubeletStarted(before);
      assert.deepEqual(
        nodes.map((n) => n.file(providerConfig)),
        configs,
        "the kubelets' provider configs are unchanged",
      );
      assert.equal(await generation(), generationBefore, "no DaemonSet template change");
      await fleetReportsCurrent();
    }),
  );

  it(
    "4. a change that needs a kubelet restart rolls through the nodes one at a time",
    step(async (t) => {
      const since = Date.now();
      const from = await currentHash();
      let to = "";
      await timed(t, "4 rolling restart", async () => {
        await kc.patchConfigMap({ data: { defaultCacheDuration: "3s" } });
        to = await waitForHashChange(from);
        await rolledOut();
        await waitFor(
          "the last new pod to be seen Ready",
          async () =>
            (await refreshPods()).every((p) => p.hash === to && p.ready) ? true : undefined,
          10_000,
        );
      });
      const windows = restartWindows(since, to);
      t.diagnostic(`from the ConfigMap change: ${describeWindows(windows, since)}`);
      for (let i = 1; i < windows.length; i++) {
        const [prev, next] = [windows[i - 1], windows[i]];
        assert.ok(
          prev !== undefined && next !== undefined && next.restartAt >= prev.readyAt,
          `${next?.node ?? ""} restarted only after ${prev?.node ?? ""} was Ready again`,
        );
      }
      for (const n of nodes) {
        assert.ok(providerEntry(n)?.args?.includes("--cache-duration=3s"), n.name);
      }
      // The pods were replaced: each Lease now belongs to its node's new pod.
      await fleetReportsCurrent();
    }),
  );

  it(
    "5. a kubelet that fails on the second node is rolled back there; the third is never restarted; fixing the ConfigMap resumes",
    step(async (t) => {
      const broken = "47s";
      const since = Date.now();
      const starts = startCounts();
      const configs = new Map(nodes.map((n) => [n.name, n.file(providerConfig)]));
      const from = await currentHash();
      for (const n of nodes) n.refuseProviderConfigContaining(broken);
      let first = "";
      let second = "";
      let third = "";
      let to = "";
      /** The node whose pod of revision `hash` the controller is replacing (deleted or gone). */
      const picked = (exclude: readonly string[], hash: string): string | undefined =>
        nodes
          .map((n) => n.name)
          .filter((name) => !exclude.includes(name))
          .find((name) => {
            const own = pods.filter((p) => p.node === name);
            return (
              own.some((p) => p.hash === hash && p.deleting) || !own.some((p) => p.hash === hash)
            );
          });
      let rollbackAt = 0;
      await timed(t, "5 first node, then rollback on the second", async () => {
        await kc.patchConfigMap({ data: { defaultCacheDuration: broken } });
        // As soon as the controller picks the first node, its kubelet may take the change.
        first = await waitFor(
          "the controller to pick a first node",
          () => {
            const name = picked([], from);
            if (name !== undefined) nodeNamed(name).refuseProviderConfigContaining(null);
            return Promise.resolve(name);
          },
          60_000,
          50,
        );
        to = await currentHash();
        await waitFor(
          `the first node (${first}) to be Ready on the new config`,
          () => Promise.resolve(podOn(first, to)?.ready === true ? true : undefined),
          120_000,
        );
        second = await waitFor(
          "the controller to pick a second node",
          () => Promise.resolve(picked([first], from)),
          60_000,
          100,
        );
        third = nodes.map((n) => n.name).find((n) => n !== first && n !== second) ?? "";
        await waitFor(
          `apply on ${second} to roll back (exit 6) and then not retry (exit 8)`,
          () =>
            Promise.resolve(podOn(second, to)?.applyExits.includes(8) === true ? true : undefined),
          240_000,
        );
        rollbackAt = Date.now();
      });
      t.diagnostic(
        `order: ${first} (knob cleared, succeeded), ${second} (failed), ${third} (waits)`,
      );
      const a = nodeNamed(first);
      const b = nodeNamed(second);
      const c = nodeNamed(third);
      assert.equal(count(a, "systemctl-restart", since), 1, `${first} restarted once`);
      assert.ok(
        providerEntry(a)?.args?.includes(`--cache-duration=${broken}`),
        `${first} runs the change`,
      );
      assert.ok(count(b, "fault-injected", since) >= 1, `${second}'s kubelet refused the change`);
      assert.equal(
        b.file(providerConfig),
        configs.get(second),
        `${second}: the previous config is back`,
      );
      const lastB = b
        .journal()
        .filter((e) => e.event === "kubelet-start")
        .at(-1);
      assert.equal(lastB?.providerFlags?.length, 2, `${second}'s kubelet runs the previous wiring`);
      await waitFor(
        `${second} Ready after the rollback`,
        async () => ((await kc.nodeReady(second)) ? true : undefined),
        60_000,
      );
      assert.equal(podOn(second, to)?.ready, false, `${second}'s pod stays unready`);

      await timed(t, `5 hold ${String(holdMs / 1000)} s`, () => sleep(holdMs));
      await refreshPods();
      assert.equal(
        count(c, "kubelet-start"),
        starts.get(third),
        `${third}'s kubelet was never restarted`,
      );
      assert.equal(count(c, "systemctl-restart", since), 0);
      assert.equal(
        c.file(providerConfig),
        configs.get(third),
        `${third}'s provider config is byte-identical`,
      );
      assert.ok(podOn(third, from)?.ready, `${third} still runs its old, Ready pod`);
      assert.equal(podOn(second, to)?.ready, false, `${second}'s pod is still unready`);
      await assert.rejects(
        kc(["-n", "nodecred", "rollout", "status", "daemonset/nodecred", "--timeout=3s"]),
        "the rollout does not complete",
      );
      t.diagnostic(
        `${third} unchanged ${((Date.now() - rollbackAt) / 1000).toFixed(0)} s after ${second}'s rollback`,
      );
      // What an operator sees, with a viewer's rights: stopped at the failing node, and why.
      const stopped = await status();
      t.diagnostic(`kubectl nodecred status:\n${stopped.stdout}`);
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(
        stopped.stdout,
        new RegExp(`^Rollout: +STOPPED at ${second} \\(updated 2 of 3\\)`, "m"),
      );
      const secondBlock = stopped.stdout.split(`\n${second} `)[1]?.split(/\n(?=\S)/)[0] ?? "";
      assert.match(
        secondBlock,
        /apply exited (6 ROLLED_BACK: kubelet unhealthy after the restart|8 CONFIG_FAILED_BEFORE: this config was rolled back on this node before \(exit 6\))/,
      );
      assert.match(secondBlock, /last warning .*: RolledBack on Pod\//);
      assert.match(stopped.stdout, new RegExp(`^${third} +yes +NO +\\S+ \\(old revision\\)`, "m"));
      assert.match(stopped.stdout, new RegExp(`^${first} +yes +yes `, "m"));
      assert.doesNotMatch(
        stopped.stdout,
        /node reports not readable/,
        "view aggregates nodecred-view",
      );
      assert.ok(!stopped.stdout.includes(password));

      const fixSince = Date.now();
      await timed(t, "5 fixed ConfigMap, rollout resumed", async () => {
        for (const n of nodes) n.refuseProviderConfigContaining(null);
        await kc.patchConfigMap({ data: { defaultCacheDuration: "5s" } });
        await waitForHashChange(to);
        await rolledOut();
      });
      for (const n of nodes) {
        assert.ok(providerEntry(n)?.args?.includes("--cache-duration=5s"), n.name);
        assert.ok(await kc.nodeReady(n.name), n.name);
      }
      assert.equal(
        count(c, "systemctl-restart", fixSince),
        1,
        `${third} restarted once, for the fix`,
      );
      await fleetReportsCurrent();
      const healthy = await waitFor(
        "kubectl nodecred status to say all three nodes current",
        async () => {
          const r = await status();
          return r.code === 0 && /^Nodes: +3: 3 current, 3 ready/m.test(r.stdout) ? r : undefined;
        },
        30_000,
      );
      t.diagnostic(`kubectl nodecred status:\n${healthy.stdout}`);
      assert.match(healthy.stdout, /^Rollout: +complete \(updated 3 of 3\)$/m);
    }),
  );

  it(
    "6. mixed minors: credentialSets is refused by the 1.33 node's apply (kubelet untouched), accepted on the others; removing it recovers",
    step(async (t) => {
      const old = nodes.find((n) => (minors.get(n.name) ?? 0) < 34);
      assert.ok(old, "a node on a kubelet before 1.34");
      const others = nodes.filter((n) => n !== old);
      const oldStarts = count(old, "kubelet-start");
      const oldConfig = old.file(providerConfig);
      const from = await currentHash();
      // All nodes at once: with one at a time, the controller may pick the old node first and
      // stop there (its pod stays unready), and the others would never show the change.
      await kc([
        "-n",
        "nodecred",
        "patch",
        "daemonset",
        "nodecred",
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { updateStrategy: { rollingUpdate: { maxUnavailable: 3 } } } }),
      ]);
      await kc(["apply", "-f", "-"], secret("team-a-registry", host(), username, password));
      let to = "";
      await timed(t, "6 credentialSets on a mixed fleet", async () => {
        await kc.patchConfigMap({
          data: {
            credentialSets: [
              "team-a:",
              "  secret: team-a-registry",
              '  namespaces: ["team-a"]',
              "  onlyWhenSelected: true",
              "",
            ].join("\n"),
          },
        });
        to = await waitForHashChange(from);
        await waitFor(
          "the 1.34+ nodes Ready with tokenAttributes, the older node's apply refusing (exit 3)",
          async () => {
            await refreshPods();
            const newer = others.every(
              (n) =>
                podOn(n.name, to)?.ready === true &&
                providerEntry(n)?.tokenAttributes !== undefined,
            );
            const refused = podOn(old.name, to)?.applyExits.includes(3) === true;
            return newer && refused ? true : undefined;
          },
          240_000,
        );
      });
      assert.equal(count(old, "kubelet-start"), oldStarts, `${old.name}'s kubelet untouched`);
      assert.equal(old.file(providerConfig), oldConfig, `${old.name}'s provider config untouched`);
      assert.ok(await kc.nodeReady(old.name));
      assert.equal(podOn(old.name, to)?.ready, false, `${old.name}'s pod is not Ready`);
      const podName = podOn(old.name, to)?.name ?? "";
      const refusal = await kc(["-n", "nodecred", "logs", podName, "-c", "apply"]).catch(
        (e: unknown) => String(e),
      );
      t.diagnostic(`${old.name} apply: ${refusal.trim().split("\n").at(-1) ?? ""}`);
      assert.match(refusal, /tokenAttributes|credentialSets|1\.34/);

      await timed(t, "6 credentialSets removed", async () => {
        await kc.patchConfigMap({ data: { credentialSets: null } });
        await waitForHashChange(to);
        await rolledOut();
      });
      for (const n of others) assert.equal(providerEntry(n)?.tokenAttributes, undefined, n.name);
      assert.equal(count(old, "kubelet-start"), oldStarts, `${old.name}'s kubelet still untouched`);
      await refreshPods();
      assert.ok(podOn(old.name)?.ready, `${old.name}'s pod Ready again`);
    }),
  );
});
