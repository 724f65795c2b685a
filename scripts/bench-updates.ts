/**
 * What scripts/bench-rotation.ts and scripts/bench-fleet.ts send and time: a namespace as
 * installed, Secret and ConfigMap updates that carry a marker (the `bench/marker` annotation), a
 * bare client-node watch that notes when it first sees each marker (the floor for any watch-driven
 * sync), and the figures printed.
 */
import { performance } from "node:perf_hooks";
import { CoreV1Api, Watch, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { createInstalledNamespace, dockerConfigSecret } from "../test/sync/cluster.ts";

const secretName = "nodecred-credentials";
const configMapName = "nodecred-config";
const markerKey = "bench/marker";

function matchImagesData(patterns: readonly string[]): Record<string, string> {
  return { matchImages: `${patterns.join("\n")}\n` };
}

/** A benchmark's namespace and the updates it times. */
export interface BenchNamespace {
  /** The ConfigMap data as installed: matchImages is the registry alone. */
  readonly installedData: Record<string, string>;
  /** The namespace as installed: the Secret (password pw-0), the ConfigMap, a bare DaemonSet. */
  create(): Promise<void>;
  /** The Secret with `password` for the registry, marked with it; its new resourceVersion. */
  rotate(password: string): Promise<string>;
  /** The ConfigMap's matchImages: the registry and `added`; its new resourceVersion. */
  addRegistry(added: string, marker: string): Promise<string>;
  /**
   * Bare watches of the namespace's Secrets and ConfigMaps: `seen` gets the time
   * (performance.now()) each marker was first seen. Resolves with their handles, to abort.
   */
  watchMarkers(seen: Map<string, number>): Promise<AbortController[]>;
}

/**
 * Namespace `ns` whose Secret holds a password for `registry` and one fixed key for
 * `wildcardKey`, so that only matchImages decides whether a registry added later is answered.
 */
export function benchNamespace(
  kc: KubeConfig,
  ns: string,
  registry: string,
  wildcardKey: string,
): BenchNamespace {
  const core = kc.makeApiClient(CoreV1Api);
  const secret = (password: string): V1Secret => {
    const body = dockerConfigSecret(secretName, ns, {
      [registry]: { username: "u", password },
      [wildcardKey]: { username: "w", password: "pw-wildcard" },
    });
    return { ...body, metadata: { ...body.metadata, annotations: { [markerKey]: password } } };
  };
  const installedData = matchImagesData([registry]);
  return {
    installedData,
    create: () => createInstalledNamespace(kc, ns, [secret("pw-0")], installedData),
    rotate: async (password) =>
      (
        await core.replaceNamespacedSecret({
          namespace: ns,
          name: secretName,
          body: secret(password),
        })
      ).metadata?.resourceVersion ?? "",
    addRegistry: async (added, marker) =>
      (
        await core.replaceNamespacedConfigMap({
          namespace: ns,
          name: configMapName,
          body: {
            metadata: { name: configMapName, namespace: ns, annotations: { [markerKey]: marker } },
            data: matchImagesData([registry, added]),
          },
        })
      ).metadata?.resourceVersion ?? "",
    watchMarkers: (seen) =>
      Promise.all(
        (["secrets", "configmaps"] as const).map((kind) => {
          const w = new Watch(kc);
          // Quiet for minutes (one kind changes while the other's rounds run): no client idle abort.
          (w as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 7_200_000;
          return w.watch(
            `/api/v1/namespaces/${ns}/${kind}`,
            { allowWatchBookmarks: true, timeoutSeconds: 3600 },
            (_phase, obj: { metadata?: { annotations?: Record<string, string> } }) => {
              const marker = obj.metadata?.annotations?.[markerKey];
              if (marker !== undefined && !seen.has(marker)) seen.set(marker, performance.now());
            },
            () => undefined,
          );
        }),
      ),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

/** Median (p50), p95 and max of some timings. */
export function stats(values: readonly number[]): { p50: number; p95: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: sorted.at(-1) ?? NaN };
}
