import { kubeApi, loadKubeConfig } from "../cluster/kube-api.ts";
import type { EventRecord } from "../core/report/sync-effects.ts";
import { InstallerError, errorText } from "../errors.ts";
import type { ApplyOutcome } from "../host/apply.ts";
import type { Logger } from "../log.ts";
import type { EventTarget } from "./config.ts";

/**
 * Events about one apply, on the pod and on the node (`apply --events`, in the init container):
 * what was installed, a kubelet restart, a rollback, a failure. An unchanged node records nothing.
 * Recording is best effort: the node's state is what matters, never the Event.
 */
export async function reportApply(
  target: EventTarget,
  result: { outcome: ApplyOutcome } | { error: unknown },
  log: Logger,
): Promise<void> {
  let type: EventRecord["type"];
  let reason: string;
  let message: string;
  if ("outcome" in result) {
    const { outcome } = result;
    if (outcome.changed.length === 0 && !outcome.restarted) return;
    type = "Normal";
    reason = outcome.restarted ? "KubeletRestarted" : "Installed";
    const what = `kubelet config ${outcome.kubeletConfigHash} installed (${outcome.changed.join(", ")})`;
    message = outcome.restarted
      ? `${what}; kubelet restarted and healthy`
      : outcome.restartPending
        ? `${what}; kubelet restart pending (--restart none)`
        : `${what}; no kubelet restart needed`;
  } else {
    const err = result.error;
    const code = err instanceof InstallerError ? err.code : "INTERNAL";
    type = "Warning";
    reason = code === "ROLLED_BACK" ? "RolledBack" : "ApplyFailed";
    const text = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
    message = `${code}: ${text}`;
  }
  const api = kubeApi(loadKubeConfig(target.kubeconfig));
  for (const regarding of [
    { kind: "Pod" as const, name: target.pod, namespace: target.namespace },
    { kind: "Node" as const, name: target.node },
  ]) {
    try {
      await api.event(target.namespace, "nodecred-apply", { regarding, type, reason, message });
    } catch (e) {
      log.warn("could not record event", {
        reason,
        error: errorText(e),
      });
    }
  }
}
