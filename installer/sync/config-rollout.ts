import {
  versionOf,
  type ApiObject,
  type KubeApi,
  type ObjectRef,
  type ObjectVersion,
} from "../cluster/kube-api.ts";
import {
  configHashAnnotation,
  restartReasons,
  type KubeletSpec,
} from "../core/kubelet/kubelet-spec.ts";
import type { Problem } from "../core/problems.ts";
import { checkConfigMapForRollout, type RolloutConfig } from "../core/rollout/configmap-check.ts";

export { configHashAnnotation };

/**
 * One pass of config sync, level-triggered on the DaemonSet itself: the ConfigMap as it is now →
 * validated → the hash of what the kubelet reads (kubelet-config.ts); if our DaemonSet's pod
 * template does not carry that hash, it is patched in, and the DaemonSet controller rolls it out a
 * few nodes at a time (maxUnavailable), stopping at a node that fails. A change the kubelet does
 * not read (matchImages inside the envelope) leaves the hash, and so the template, as it is: the
 * nodes' policy files take it live (policy-sync.ts). Every node patches the same value, so
 * whichever is first, they converge; a template set back by hand (`kubectl rollout undo`) is set
 * forward again, because the ConfigMap is the source of truth. An invalid ConfigMap is never
 * rolled out. Right after install the template has no hash yet: a node that already applied the
 * current config leaves it so, which spares a needless second rollout.
 */
/** A version of the Secret or ConfigMap that cannot be used, and why (its uid: `kubectl describe`). */
export interface RejectedVersion extends ObjectVersion {
  readonly problems: readonly Problem[];
}

export type ConfigOutcome =
  | { readonly kind: "current"; readonly config: RolloutConfig }
  | ({
      readonly kind: "rolled-out";
      readonly config: RolloutConfig;
      /** Why the kubelet must restart, from what this node runs to the new config. */
      readonly reasons: readonly string[];
    } & ObjectVersion)
  | { readonly kind: "missing" }
  | ({ readonly kind: "invalid" } & RejectedVersion);

/** What the node's kubelet runs (the apply init container's record), when known. */
export interface AppliedConfig {
  readonly hash: string;
  /** null when only the hash is known. */
  readonly kubelet: KubeletSpec | null;
}

/** The ConfigMap object (from the API or a watch) checked for use, or why it cannot be used. */
export function checkConfigMapObject(
  cm: ApiObject,
):
  | ({ readonly kind: "ok"; readonly config: RolloutConfig } & ObjectVersion)
  | Extract<ConfigOutcome, { kind: "missing" | "invalid" }> {
  if (cm === null) return { kind: "missing" };
  const version = versionOf(cm);
  const checked = checkConfigMapForRollout((cm["data"] ?? {}) as Record<string, unknown>);
  if (!checked.ok) return { kind: "invalid", ...version, problems: checked.problems };
  return { kind: "ok", config: checked.value, ...version };
}

export async function syncConfig(deps: {
  api: KubeApi;
  configMap: ApiObject;
  daemonSet: ObjectRef;
  applied: () => Promise<AppliedConfig | null>;
}): Promise<ConfigOutcome> {
  const checked = checkConfigMapObject(deps.configMap);
  if (checked.kind !== "ok") return checked;
  const { config, resourceVersion, uid } = checked;
  const template = await deps.api.podTemplateAnnotation(deps.daemonSet, configHashAnnotation);
  if (template === config.hash) return { kind: "current", config };
  const applied = await deps.applied();
  if (template === undefined && applied?.hash === config.hash) return { kind: "current", config };
  await deps.api.annotatePodTemplate(deps.daemonSet, configHashAnnotation, config.hash);
  const reasons =
    applied?.hash === config.hash
      ? ["the DaemonSet template stands for another kubelet config than this node runs"]
      : restartReasons(applied?.kubelet ?? null, config.kubelet);
  return { kind: "rolled-out", config, reasons, resourceVersion, uid };
}

/** What the policy loop last decided about a version of the ConfigMap. */
export interface PolicyVerdict {
  readonly resourceVersion: string;
  /** Its credential sets cannot be used with the Secrets as they are (policy-sync.ts). */
  readonly refused: boolean;
}

/**
 * Whether the config loop may roll this ConfigMap version out. Not before the policy loop has
 * looked at it with the Secrets ("wait": that pass marks the config loop dirty), and never while
 * the policy loop refuses it (a Secret not found, two sets in conflict): the rollout would restart
 * the kubelets for credential sets no node can write, and stop at the first node, unready. A
 * deleted ConfigMap goes on to syncConfig, which reports it.
 */
export function rolloutGate(
  configMap: ApiObject,
  verdict: PolicyVerdict | null,
): "go" | "wait" | "refused" {
  if (configMap === null) return "go";
  const { resourceVersion } = versionOf(configMap);
  if (verdict?.resourceVersion !== resourceVersion) return "wait";
  return verdict.refused ? "refused" : "go";
}
