import type { KubeApi, ObjectRef } from "../cluster/kube-api.ts";
import { versionOf, type ApiObject, type ObjectVersion } from "../core/api-object.ts";
import type { AppliedConfig, ConfigOutcome } from "../core/report/outcomes.ts";
import { configHashAnnotation, restartReasons } from "../core/kubelet/kubelet-spec.ts";
import { checkConfigMapForRollout, type RolloutConfig } from "../core/rollout/configmap-check.ts";

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
  if (template === config.hash) return { kind: "current", config, resourceVersion, uid };
  const applied = await deps.applied();
  if (template === undefined && applied?.hash === config.hash) {
    return { kind: "current", config, resourceVersion, uid };
  }
  await deps.api.annotatePodTemplate(deps.daemonSet, configHashAnnotation, config.hash);
  const reasons =
    applied?.hash === config.hash
      ? ["the DaemonSet template stands for another kubelet config than this node runs"]
      : restartReasons(applied?.kubelet ?? null, config.kubelet);
  return { kind: "rolled-out", config, reasons, resourceVersion, uid };
}
