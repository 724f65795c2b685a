import type { KubeApi, ObjectRef } from "../cluster/kube-api.ts";
import type { Problem } from "../core/problems.ts";
import { checkConfigMapForRollout } from "../core/rollout-check.ts";

/** The pod-template annotation whose change makes the DaemonSet controller roll a new config out. */
export const configHashAnnotation = "nodecred.io/config-hash";

/**
 * One pass of config sync: the ConfigMap as it is now → validated → content hash → if this node
 * does not run that config yet, the hash is stamped into our DaemonSet's pod template, and the
 * DaemonSet controller rolls it out a few nodes at a time (maxUnavailable), stopping at a node
 * that fails. Every node patches the same value, so whichever is first, they converge; an
 * invalid ConfigMap is never rolled out.
 */
export type ConfigOutcome =
  | { readonly kind: "current"; readonly hash: string }
  | { readonly kind: "rolled-out"; readonly hash: string }
  | { readonly kind: "missing" }
  | {
      readonly kind: "invalid";
      readonly resourceVersion: string;
      readonly problems: readonly Problem[];
    };

export async function syncConfig(deps: {
  api: KubeApi;
  configMap: ObjectRef;
  daemonSet: ObjectRef;
  /** Hashes this pod already stands for: its template's annotation and what its node applied. */
  current: () => readonly string[];
}): Promise<ConfigOutcome> {
  const cm = await deps.api.get("configmaps", deps.configMap);
  if (cm === null) return { kind: "missing" };
  const metadata = cm["metadata"] as { resourceVersion?: string } | undefined;
  const data = (cm["data"] ?? {}) as Record<string, unknown>;
  const checked = checkConfigMapForRollout(data);
  if (!checked.ok) {
    return {
      kind: "invalid",
      resourceVersion: metadata?.resourceVersion ?? "",
      problems: checked.problems,
    };
  }
  const { hash } = checked.value;
  if (deps.current().includes(hash)) return { kind: "current", hash };
  await deps.api.annotatePodTemplate(deps.daemonSet, configHashAnnotation, hash);
  return { kind: "rolled-out", hash };
}
