/**
 * Scoped credentials end to end, on two real kubelet minors one after the other (the pinned
 * release and scripts/k8s-next), each a node of the same cluster: nodecred installed with
 * `kubectl apply -k` and credentialSets in its ConfigMap; the kubelets send service-account tokens
 * (KEP-4412) for nodecred's audience, the API server lets the nodes request them through the
 * shipped RBAC, and nodecred answers per namespace. No pod has an imagePullSecret.
 *
 * The registry has two accounts, one per credential set open to `team-a`; which account pulled
 * is read from the registry's own log, so the annotation's choice is seen where it matters.
 *
 * Timings are printed, never asserted (they belong in scripts/bench-*).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { testEnv } from "../env/index.ts";
import { startRegistry, type RegistryInstance } from "../env/registry.ts";
import { startControlPlane, type ControlPlane } from "./control-plane.ts";
import {
  hostOf,
  kubectlFor,
  podManifest,
  policyOf,
  type NodePolicy,
  providerEntryOf,
  publishImage,
  pushImages,
  refusedPull,
  secondsUntil,
  secretManifest,
  steps,
  waitFor,
  writeOverlay,
} from "./harness.ts";
import { startNode, type TestNode } from "./node/node.ts";

const robotA = "team-a-robot";
const robotCi = "team-a-ci-robot";

/** The ConfigMap's credentialSets; `teamA` is where the set `team-a` is open. */
function credentialSets(teamA: readonly string[]): string {
  return [
    "team-a:",
    "  secret: team-a-registry",
    `  namespaces: ${JSON.stringify(teamA)}`,
    "team-a-ci:",
    "  secret: team-a-ci-registry",
    '  namespaces: ["team-a"]',
    "  onlyWhenSelected: true",
    "",
  ].join("\n");
}

describe("scoped credentials: per-namespace pulls on real kubelets, without imagePullSecrets", () => {
  let dir = "";
  let cp: ControlPlane | undefined;
  let node: TestNode | undefined;
  let registry: RegistryInstance | undefined;
  let publicRegistry: RegistryInstance | undefined;
  const passwordA = `pw-team-a-${Math.random().toString(36).slice(2, 10)}`;
  const passwordCi = `pw-team-ci-${Math.random().toString(36).slice(2, 10)}`;
  const run = steps();
  const kc = kubectlFor(() => cp);
  const host = (): string => hostOf(registry);
  const image = (tag: string): string => `${host()}/scoped/app:${tag}`;
  const nodePolicy = (): NodePolicy | null => policyOf(node);
  const kubeletStarts = (): number =>
    (node?.journal() ?? []).filter((e) => e.event === "kubelet-start").length;
  const generation = (): Promise<number> => kc.daemonSetGeneration();

  const pod = (
    namespace: string,
    name: string,
    img: string,
    opts: { serviceAccount?: string; pullPolicy: "Always" | "IfNotPresent" },
  ): string =>
    podManifest({
      name,
      namespace,
      image: img,
      node: node?.name,
      serviceAccount: opts.serviceAccount ?? "default",
      pullPolicy: opts.pullPolicy,
    });

  /** Runs a pod to its outcome; returns it and the registry accounts its pull used. */
  const outcome = async (
    namespace: string,
    name: string,
    img: string,
    opts: { serviceAccount?: string; pullPolicy: "Always" | "IfNotPresent" },
  ): Promise<{ outcome: string; accounts: string[]; events: string }> => {
    const seen = registry?.authorizedUsers().length ?? 0;
    await kc(["apply", "-f", "-"], pod(namespace, name, img, opts));
    const result = await kc.podOutcome(namespace, name, 90_000);
    return {
      outcome: result,
      accounts: [...new Set(registry?.authorizedUsers().slice(seen) ?? [])],
      events: await kc.podEvents(namespace, name),
    };
  };
  const failed = (o: { outcome: string }): void => {
    assert.match(o.outcome, /^(ErrImagePull|ImagePullBackOff)$/);
  };

  const setTeamA = async (namespaces: readonly string[]): Promise<number> => {
    const start = performance.now();
    await kc.patchConfigMap({ data: { credentialSets: credentialSets(namespaces) } });
    return secondsUntil(
      "the node's policy file to hold the new scope of team-a",
      start,
      () =>
        JSON.stringify(nodePolicy()?.sets?.find((s) => s.name === "team-a")?.namespaces) ===
        JSON.stringify(namespaces),
    );
  };

  before(async () => {
    const env = testEnv();
    dir = mkdtempSync(join(env.workDir, "scopes-"));
    [registry, publicRegistry] = await Promise.all([
      startRegistry({
        dir,
        name: "scoped",
        username: robotA,
        password: passwordA,
        moreUsers: [{ username: robotCi, password: passwordCi }],
      }),
      startRegistry({ dir, name: "public", username: "x", password: "x", anonymous: true }),
    ]);
    pushImages(
      dir,
      env.image.source,
      [registry.env],
      { username: robotA, password: passwordA },
      ["34", "35"].flatMap((minor) =>
        ["1", "2", "3"].map((n) => ["scoped/app", `${minor}-${n}`] as const),
      ),
    );
    await publishImage(dir, publicRegistry.env);
    cp = await startControlPlane(dir, env.bins);

    for (const ns of ["team-a", "team-b"]) await kc(["create", "namespace", ns]);
    const serviceAccount = (ns: string, name: string, selects: string): string =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name, namespace: ns, annotations: { "nodecred.io/credentials": selects } },
      });
    // team-a's CI selects its second set; team-b names team-a's set, which never grants it.
    await kc(["apply", "-f", "-"], serviceAccount("team-a", "ci", "team-a-ci"));
    await kc(["apply", "-f", "-"], serviceAccount("team-b", "borrower", "team-a"));

    writeOverlay(dir, "overlay", "manifests", {
      imageRegistry: publicRegistry.env.host,
      apiServer: cp.kube.server,
      configMap: [
        { op: "replace", path: "/data/matchImages", value: `${host()}\n` },
        { op: "add", path: "/data/credentialSets", value: credentialSets(["team-a"]) },
      ],
    });
  });

  after(async (t) => {
    t.diagnostic(`timings: ${run.summary()}`);
    await node?.stop();
    await cp?.stop();
    await Promise.all([registry?.stop(), publicRegistry?.stop()]);
  });

  const secret = (name: string, username: string, password: string, registry = host()): string =>
    secretManifest(name, { [registry]: { username, password } });

  for (const [index, which] of (["kubelet", "kubeletNext"] as const).entries()) {
    const label = which === "kubelet" ? "pinned kubelet" : "newer kubelet";
    let minor = 0;
    let startsBefore = 0;
    let generationBefore = 0;
    const tag = (n: number): string => `${String(minor)}-${String(n)}`;
    const podName = (what: string): string => `${what}-${String(minor)}`;

    it(
      `${label}: a node joins, nodecred installs with tokenAttributes for its audience`,
      run.step(async (t) => {
        const bin = testEnv().bins[which];
        const version = execFileSync(bin, ["--version"], { encoding: "utf8" });
        minor = Number(/v1\.(\d+)\./.exec(version)?.[1]);
        assert.ok(minor >= 34, `kubelet ${version.trim()} sends tokens to providers`);
        await run.timed(t, `${label} install`, async () => {
          if (node !== undefined) {
            // One node at a time (they share this machine's ports): the last one leaves.
            const gone = node.name;
            await node.stop();
            node = undefined;
            await kc(["delete", "node", gone, "--wait=false"]);
          }
          const name = `scoped-${String(minor)}`;
          if (cp === undefined) throw new Error("no control plane");
          node = await startNode({
            dir,
            name,
            kubeletBin: bin,
            apiServer: cp.kube.server,
            kubeCa: cp.kube.ca,
            registries: [registry, publicRegistry].flatMap((r) => (r ? [r.env] : [])),
            sandboxImageSource: testEnv().image.source,
          });
          await kc.nodesReady([name], 90_000);
          if (index === 0) {
            await kc(["apply", "-k", join(dir, "overlay")]);
            // The default set (every namespace) holds another registry's key: a key for this
            // registry there would conflict with team-a's set, and the ConfigMap would be refused.
            await kc(
              ["apply", "-f", "-"],
              secret("nodecred-credentials", "shared", "shared", "mirror.example.invalid"),
            );
            await kc(["apply", "-f", "-"], secret("team-a-registry", robotA, passwordA));
            await kc(["apply", "-f", "-"], secret("team-a-ci-registry", robotCi, passwordCi));
          }
          await waitFor(
            `nodecred Ready on ${name}`,
            async () => {
              const pods = await kc.json<{
                items: {
                  metadata: { name: string };
                  spec: { nodeName?: string };
                  status: {
                    phase?: string;
                    conditions?: { type: string; status: string }[];
                  };
                }[];
              }>(["-n", "nodecred", "get", "pods", "-l", "app.kubernetes.io/name=nodecred"]);
              const mine = pods.items.filter((p) => p.spec.nodeName === name);
              if (
                mine.some((p) =>
                  p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
                )
              ) {
                return true;
              }
              // Why not yet, for the timeout's message: the pod's phase and its sync's logs.
              const why = await Promise.all(
                mine.map(async (p) => {
                  const logs = await kc([
                    "-n",
                    "nodecred",
                    "logs",
                    p.metadata.name,
                    "-c",
                    "sync",
                    "--tail=3",
                  ]).catch((err: unknown) => String(err));
                  return `${p.metadata.name} ${p.status.phase ?? "?"}: ${logs}`;
                }),
              );
              throw new Error(why.join("; ") || "no nodecred pod on the node");
            },
            240_000,
          );
        });
        assert.deepEqual(providerEntryOf(node)?.tokenAttributes, {
          cacheType: "ServiceAccount",
          optionalServiceAccountAnnotationKeys: ["nodecred.io/credentials"],
          requireServiceAccount: false,
          serviceAccountTokenAudience: "nodecred.io",
        });
        assert.deepEqual(
          nodePolicy()?.sets?.map((s) => [s.name, s.namespaces]),
          [
            ["team-a", ["team-a"]],
            ["team-a-ci", ["team-a"]],
            ["default", ["*"]],
          ],
        );
        startsBefore = kubeletStarts();
        generationBefore = await generation();
      }),
    );

    it(
      `${label}: team-a pulls the private image with its set; team-b gets 401 for the same image`,
      run.step(async (t) => {
        await run.timed(t, `${label} scoped pulls`, async () => {
          const a = await outcome("team-a", podName("a"), image(tag(1)), {
            pullPolicy: "Always",
          });
          assert.equal(a.outcome, "Running", a.events);
          assert.deepEqual(a.accounts, [robotA], "team-a's own set pulled");
          const b = await outcome("team-b", podName("b"), image(tag(1)), { pullPolicy: "Always" });
          failed(b);
          assert.match(b.events, refusedPull);
          assert.deepEqual(b.accounts, [], "no account of the registry was used for team-b");
        });
      }),
    );

    it(
      `${label}: a ServiceAccount annotation selects between two sets open to team-a, and never grants`,
      run.step(async (t) => {
        await run.timed(t, `${label} annotation`, async () => {
          const ci = await outcome("team-a", podName("ci"), image(tag(2)), {
            serviceAccount: "ci",
            pullPolicy: "Always",
          });
          assert.equal(ci.outcome, "Running", ci.events);
          assert.deepEqual(ci.accounts, [robotCi], "the selected set's account pulled");
          const borrower = await outcome("team-b", podName("borrower"), image(tag(2)), {
            serviceAccount: "borrower",
            pullPolicy: "Always",
          });
          failed(borrower);
          assert.deepEqual(borrower.accounts, []);
        });
      }),
    );

    it(
      which === "kubeletNext"
        ? `${label}: an image team-a pulled is not started for team-b (IfNotPresent): the kubelet asks nodecred again for team-b (KEP-2535)`
        : `${label}: an image team-a pulled starts for team-b with IfNotPresent (no pulled-image records before 1.35: the README's warning)`,
      run.step(async (t) => {
        const b = await outcome("team-b", podName("cached"), image(tag(1)), {
          pullPolicy: "IfNotPresent",
        });
        t.diagnostic(`kubelet 1.${String(minor)}: team-b's pod of team-a's image: ${b.outcome}`);
        if (minor >= 35) {
          failed(b);
          assert.match(b.events, refusedPull);
        } else {
          assert.equal(b.outcome, "Running", b.events);
        }
      }),
    );

    it(
      `${label}: team-a taken out of the scope: its next pull is refused, live, with no kubelet restart`,
      run.step(async (t) => {
        const start = performance.now();
        const fileSeconds = await setTeamA(["team-c"]);
        const a = await outcome("team-a", podName("removed"), image(tag(3)), {
          pullPolicy: "Always",
        });
        const refusedSeconds = (performance.now() - start) / 1000;
        failed(a);
        assert.match(a.events, refusedPull);
        t.diagnostic(
          `policy file on the node without team-a ${fileSeconds.toFixed(2)} s after the ConfigMap update; pull refused ${refusedSeconds.toFixed(1)} s after it`,
        );
        assert.equal(kubeletStarts(), startsBefore, "the kubelet was not restarted");
        assert.equal(await generation(), generationBefore, "the DaemonSet template did not change");
        // Every refusal above was an empty answer: the provider never failed on a token, and no
        // token (a JWT starts "eyJ") reached the kubelet's log.
        const log = node?.kubeletLog() ?? "";
        assert.doesNotMatch(log, /Failed getting credential/);
        assert.doesNotMatch(log, /eyJ[\w-]{10,}\./);
        // Back in scope for the next kubelet of the matrix.
        await setTeamA(["team-a"]);
      }),
    );
  }
});
