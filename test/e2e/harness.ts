/**
 * What the end-to-end scenarios share: polling with a deadline, ordered steps that skip the rest
 * after a failure and report their durations, the pod outcomes read through kubectl, the
 * registries' set-up, the objects a user applies, and nodecred's files as a node holds them.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { pushImage, skopeoTlsArgs, writeAuthFile } from "../env/image.ts";
import { issueCert, newCA } from "../env/pki.ts";
import type { RegistryInstance, RegistryOptions } from "../env/registry.ts";
import type { RegistryEnv } from "../env/types.ts";
import { dockerConfigSecret, kubectl } from "../sync/cluster.ts";
import type { ControlPlane } from "./control-plane.ts";
import type { TestNode } from "./node/node.ts";

/** What `before` set up, or a throw naming the part that is missing (a step after a failed set-up). */
export function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what}`);
  return value;
}

/** A registry's address as image references name it (host:port). */
export function hostOf(registry: RegistryInstance | undefined): string {
  return present(registry, "registry").env.host;
}

/** Polls `probe` until it returns a value; throws with the last error after `timeoutMs`. */
export async function waitFor<T>(
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
  throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}: ${String(last)}`);
}

export interface Steps {
  /** Wraps a step: the steps build on each other, so after a failure the rest are skipped. */
  readonly step: (fn: (t: TestContext) => Promise<void>) => (t: TestContext) => Promise<void>;
  /** Runs `body`, reports its duration as a diagnostic and keeps it for `summary()`. */
  readonly timed: (t: TestContext, name: string, body: () => Promise<void>) => Promise<void>;
  readonly summary: () => string;
}

export function steps(): Steps {
  let failedStep: string | null = null;
  const timings: [string, number][] = [];
  return {
    step: (fn) => async (t) => {
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
    },
    timed: async (t, name, body) => {
      const start = performance.now();
      try {
        await body();
      } finally {
        const seconds = (performance.now() - start) / 1000;
        timings.push([name, seconds]);
        t.diagnostic(`${name}: ${seconds.toFixed(1)} s`);
      }
    },
    summary: () => timings.map(([s, secs]) => `${s} ${secs.toFixed(1)} s`).join("; "),
  };
}

interface PodStatus {
  status: {
    phase?: string;
    containerStatuses?: { state?: { waiting?: { reason?: string } } }[];
  };
}

/** kubectl against one cluster, and what the scenarios read through it. */
export interface Kubectl {
  (args: readonly string[], input?: string): Promise<string>;
  readonly json: <T>(args: readonly string[]) => Promise<T>;
  /** "Running", or the waiting reason once the pull failed (ErrImagePull, ImagePullBackOff). */
  podOutcome(namespace: string, name: string, timeoutMs: number): Promise<string>;
  /** The messages of the Events about one pod, one per line. */
  podEvents(namespace: string, name: string): Promise<string>;
  nodeReady(name: string): Promise<boolean>;
  /** Waits until every one of these nodes is Ready. */
  nodesReady(names: readonly string[], timeoutMs: number): Promise<void>;
  /** nodecred's DaemonSet's metadata.generation: it moves with every template change. */
  daemonSetGeneration(): Promise<number>;
  /** What a user does: `kubectl patch` of nodecred's ConfigMap (a merge patch). */
  patchConfigMap(patch: unknown): Promise<void>;
}

/** kubectl against the test's own control plane, once `before` has started it. */
export function kubectlFor(controlPlane: () => ControlPlane | undefined): Kubectl {
  const kc = (args: readonly string[], input?: string): Promise<string> =>
    kubectl(args, present(controlPlane(), "control plane").kube.kubeconfig, input);
  const json = async <T>(args: readonly string[]): Promise<T> =>
    JSON.parse(await kc([...args, "-o", "json"])) as T;
  const nodeReady = async (name: string): Promise<boolean> => {
    const n = await json<{ status: { conditions: { type: string; status: string }[] } }>([
      "get",
      "node",
      name,
    ]);
    return n.status.conditions.some((c) => c.type === "Ready" && c.status === "True");
  };
  return Object.assign(kc, {
    json,
    podOutcome: (namespace: string, name: string, timeoutMs: number): Promise<string> =>
      waitFor(
        `pod ${namespace}/${name} to run or fail its pull`,
        async () => {
          const p = await json<PodStatus>(["-n", namespace, "get", "pod", name]);
          if (p.status.phase === "Running") return "Running";
          const reason = p.status.containerStatuses?.[0]?.state?.waiting?.reason;
          return reason === "ErrImagePull" || reason === "ImagePullBackOff" ? reason : undefined;
        },
        timeoutMs,
      ),
    async podEvents(namespace: string, name: string): Promise<string> {
      const events = await json<{
        items: { involvedObject: { name: string }; message: string }[];
      }>(["-n", namespace, "get", "events"]);
      return events.items
        .filter((e) => e.involvedObject.name === name)
        .map((e) => e.message)
        .join("\n");
    },
    nodeReady,
    async nodesReady(names: readonly string[], timeoutMs: number): Promise<void> {
      await waitFor(
        `${names.length === 1 ? "node" : "nodes"} ${names.join(", ")} Ready`,
        async () => ((await Promise.all(names.map(nodeReady))).every(Boolean) ? true : undefined),
        timeoutMs,
      );
    },
    async daemonSetGeneration(): Promise<number> {
      const ds = await json<{ metadata: { generation: number } }>([
        "-n",
        "nodecred",
        "get",
        "daemonset",
        "nodecred",
      ]);
      return ds.metadata.generation;
    },
    async patchConfigMap(patch: unknown): Promise<void> {
      const merge = JSON.stringify(patch);
      await kc([
        "-n",
        "nodecred",
        "patch",
        "configmap",
        "nodecred-config",
        "--type=merge",
        "-p",
        merge,
      ]);
    },
  });
}

/**
 * What the kubelet reports when a registry refused the pull for want of credentials. 401 as a
 * word: the registries listen on random ports, and an image reference with port 40131 is no
 * refusal.
 */
export const refusedPull = /\b401\b|[Uu]nauthorized|authorization failed/;

const repo = join(import.meta.dirname, "..", "..");

/**
 * A kustomization in `dir/name` on top of one of the repo's (`manifests`, `manifests-uninstall`;
 * kustomize wants it relative) with only what a test cluster needs: our image from the test's
 * registry, the API server's address for both containers (there is no kube-proxy), and JSON patch
 * operations on the ConfigMap. Returns its directory.
 */
export function writeOverlay(
  dir: string,
  name: string,
  base: string,
  opts: {
    readonly imageRegistry: string;
    readonly apiServer?: string;
    readonly configMap?: readonly Record<string, unknown>[];
  },
): string {
  const overlay = join(dir, name);
  mkdirSync(overlay);
  const patches: Record<string, unknown>[] = [];
  if (opts.apiServer !== undefined) {
    const apiEnv = [
      { name: "KUBERNETES_SERVICE_HOST", value: new URL(opts.apiServer).hostname },
      { name: "KUBERNETES_SERVICE_PORT", value: new URL(opts.apiServer).port },
    ];
    patches.push({
      target: { kind: "DaemonSet", name: "nodecred" },
      patch: JSON.stringify(
        ["initContainers/0", "containers/0"].flatMap((c) =>
          apiEnv.map((value) => ({ op: "add", path: `/spec/template/spec/${c}/env/-`, value })),
        ),
      ),
    });
  }
  if (opts.configMap !== undefined) {
    patches.push({
      target: { kind: "ConfigMap", name: "nodecred-config" },
      patch: JSON.stringify(opts.configMap),
    });
  }
  writeFileSync(
    join(overlay, "kustomization.yaml"),
    JSON.stringify({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: [relative(overlay, join(repo, base))],
      images: [
        {
          name: "nodecred/nodecred",
          newName: `${opts.imageRegistry}/nodecred/nodecred`,
          newTag: "0.1.0",
        },
      ],
      ...(patches.length > 0 ? { patches } : {}),
    }),
  );
  return overlay;
}

const run = promisify(execFile);

/**
 * Our image as a user would get it: built without a Docker engine (scripts/build-image.sh) and
 * pushed to `registry` as nodecred/nodecred:0.1.0, the name writeOverlay points the manifests at.
 * Asynchronous, so a test can start its nodes meanwhile.
 */
export async function publishImage(dir: string, registry: RegistryEnv): Promise<void> {
  const layout = join(dir, "nodecred-image");
  const built = await run("bash", [join(repo, "scripts/build-image.sh"), layout, "0.1.0"], {
    maxBuffer: 64 << 20,
  });
  if (built.stderr !== "") process.stderr.write(built.stderr);
  await run("skopeo", [
    "copy",
    "--quiet",
    ...skopeoTlsArgs(registry, "dest-"),
    `oci:${layout}:0.1.0`,
    `docker://${registry.host}/nodecred/nodecred:0.1.0`,
  ]);
}

/**
 * A CA of its own and a server certificate for a registry on `ip` (as a private registry has):
 * the `tls` of startRegistry. The CA is also alone in a directory, as skopeo and containerd want it.
 */
export function registryTls(
  dir: string,
  name: string,
  ip: string,
): NonNullable<RegistryOptions["tls"]> {
  const pki = join(dir, "pki");
  mkdirSync(join(pki, "ca-dir"), { recursive: true });
  const ca = newCA(pki, `${name}-ca`);
  execFileSync("cp", [ca.cert, join(pki, "ca-dir", "ca.crt")]);
  const pair = issueCert(ca, pki, "registry", {
    commonName: name,
    altNames: [`IP:${ip}`],
    usage: "server",
  });
  return { pair, caFile: ca.cert, caDir: join(pki, "ca-dir") };
}

/**
 * Pushes the test image `source` as each (repository, tag) to every registry, as `account`; the
 * auth file holding its password is removed afterwards.
 */
export function pushImages(
  dir: string,
  source: string,
  registries: readonly RegistryEnv[],
  account: { readonly username: string; readonly password: string },
  images: readonly (readonly [repository: string, tag: string])[],
): void {
  const auth = writeAuthFile(
    join(dir, "auth.json"),
    Object.fromEntries(registries.map((r) => [r.host, account])),
  );
  for (const [repository, tag] of images) {
    for (const r of registries) pushImage(source, r, repository, tag, auth);
  }
  rmSync(auth);
}

/** A Secret of nodecred's namespace with these registries' credentials, for `kubectl apply -f -`. */
export function secretManifest(
  name: string,
  auths: Readonly<Record<string, { username: string; password: string }>>,
): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Secret",
    ...dockerConfigSecret(name, "nodecred", auths),
  });
}

/**
 * A pod of one `app` container for `kubectl apply -f -`, without imagePullSecrets. Host network:
 * there is no pod network here (loopback-only CNI: pods need an IP otherwise); the image pull path
 * does not depend on it. No token mounted: the kubelet requests the provider's token itself.
 */
export function podManifest(pod: {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  readonly node?: string | undefined;
  readonly serviceAccount?: string;
  readonly pullPolicy?: "Always" | "IfNotPresent";
}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: pod.name, namespace: pod.namespace },
    spec: {
      ...(pod.node === undefined ? {} : { nodeName: pod.node }),
      hostNetwork: true,
      automountServiceAccountToken: false,
      ...(pod.serviceAccount === undefined ? {} : { serviceAccountName: pod.serviceAccount }),
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: "app",
          image: pod.image,
          ...(pod.pullPolicy === undefined ? {} : { imagePullPolicy: pod.pullPolicy }),
        },
      ],
    },
  });
}

/** nodecred's files on a node (the same on every flavour the end-to-end nodes are). */
export const nodePaths = {
  providerConfig: "/etc/nodecred/credential-provider-config.yaml",
  policy: "/etc/nodecred/credentials/policy.json",
} as const;

/** A node's policy file, the fields the tests read (compared, never printed). */
export interface NodePolicy {
  readonly matchImages: string[];
  readonly auths: Record<string, { password?: string }>;
  readonly sets?: { name: string; namespaces: string[]; auths: Record<string, unknown> }[];
}

/** The node's policy file as the provider reads it, or null while there is none. */
export function policyOf(node: TestNode | undefined): NodePolicy | null {
  const text = present(node, "node").file(nodePaths.policy);
  return text === null ? null : (JSON.parse(text) as NodePolicy);
}

/** nodecred's entry in the CredentialProviderConfig the node's kubelet reads. */
export interface ProviderEntry {
  readonly name: string;
  readonly apiVersion: string;
  readonly matchImages: string[];
  readonly args?: string[];
  readonly tokenAttributes?: Record<string, unknown>;
}

export function providerEntryOf(node: TestNode | undefined): ProviderEntry | undefined {
  const config = parseYaml(present(node, "node").file(nodePaths.providerConfig) ?? "") as {
    providers: ProviderEntry[];
  } | null;
  return config?.providers.find((p) => p.name === "nodecred");
}

/**
 * Seconds from `start` (performance.now()) until `holds` (a node's file, typically), polled every
 * 50 ms for 30 s.
 */
export async function secondsUntil(
  what: string,
  start: number,
  holds: () => boolean,
): Promise<number> {
  await waitFor(what, () => Promise.resolve(holds() ? true : undefined), 30_000, 50);
  return (performance.now() - start) / 1000;
}
