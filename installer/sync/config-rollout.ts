import type { KubeApi, ObjectRef } from "../cluster/kube-api.ts";
import type { Problem } from "../core/problems.ts";
import { checkConfigMapForRollout } from "../core/rollout-check.ts";

/** The pod-template annotation whose change makes the DaemonSet controller roll a new config out. */
export const configHashAnnotation = "nodecred.io/config-hash";

/**
 * One pass of config sync, level-triggered on the DaemonSet itself: the ConfigMap as it is now →
 * validated → content hash; if our DaemonSet's pod template does not carry that hash, it is
 * patched in, and the DaemonSet controller rolls it out a few nodes at a time (maxUnavailable),
 * stopping at a node that fails. Every node patches the same value, so whichever is first, they
 * converge; a template set back by hand (`kubectl rollout undo`) is set forward again, because the
 * ConfigMap is the source of truth. An invalid ConfigMap is never rolled out. Right after install
 * the template has no hash yet: a node that already applied the current config leaves it so, which
 * spares a needless second rollout.
 */
export type ConfigOutcome =
  | { readonly kind: "current"; readonly hash: string }
  | { readonly kind: "rolled-out"; readonly hash: string }
  | { readonly kind: "missing" }
  | {
      readonly kind: "invalid";
      readonly resourceVersion: string;
      /** The ConfigMap's uid, so the Event is found by `kubectl describe configmap`. */
      readonly uid: string;
      readonly problems: readonly Problem[];
    };

export async function syncConfig(deps: {
  api: KubeApi;
  configMap: ObjectRef;
  daemonSet: ObjectRef;
  /** The config hash this node applied (the init container's status file), if known. */
  applied: () => Promise<string | null>;
}): Promise<ConfigOutcome> {
  const cm = await deps.api.get("configmaps", deps.configMap);
  if (cm === null) return { kind: "missing" };
  const metadata = cm["metadata"] as { resourceVersion?: string; uid?: string } | undefined;
  const data = (cm["data"] ?? {}) as Record<string, unknown>;
  const checked = checkConfigMapForRollout(data);
  if (!checked.ok) {
    return {
      kind: "invalid",
      resourceVersion: metadata?.resourceVersion ?? "",
      uid: metadata?.uid ?? "",
      problems: checked.problems,
    };
  }
  const { hash } = checked.value;
  const template = await deps.api.podTemplateAnnotation(deps.daemonSet, configHashAnnotation);
  if (template === hash) return { kind: "current", hash };
  if (template === undefined && (await deps.applied()) === hash) return { kind: "current", hash };
  await deps.api.annotatePodTemplate(deps.daemonSet, configHashAnnotation, hash);
  return { kind: "rolled-out", hash };
}
