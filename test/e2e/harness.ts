/**
 * What the end-to-end scenarios share: polling with a deadline, ordered steps that skip the rest
 * after a failure and report their durations, and the pod outcomes read through kubectl.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { skopeoTlsArgs } from "../env/image.ts";
import type { RegistryEnv } from "../env/types.ts";
import { kubectl } from "../sync/cluster.ts";

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
  /** nodecred's DaemonSet's metadata.generation: it moves with every template change. */
  daemonSetGeneration(): Promise<number>;
  /** What a user does: `kubectl patch` of nodecred's ConfigMap (a merge patch). */
  patchConfigMap(patch: unknown): Promise<void>;
}

export function kubectlFor(kubeconfig: () => string): Kubectl {
  const kc = (args: readonly string[], input?: string): Promise<string> =>
    kubectl(args, kubeconfig(), input);
  const json = async <T>(args: readonly string[]): Promise<T> =>
    JSON.parse(await kc([...args, "-o", "json"])) as T;
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
    async nodeReady(name: string): Promise<boolean> {
      const n = await json<{ status: { conditions: { type: string; status: string }[] } }>([
        "get",
        "node",
        name,
      ]);
      return n.status.conditions.some((c) => c.type === "Ready" && c.status === "True");
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
