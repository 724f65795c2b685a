import { kubeApi, loadKubeConfig } from "../cluster/kube-api.ts";
import type { Logger } from "../log.ts";
import { syncConfig } from "../sync/config-rollout.ts";
import type { EventTarget } from "./config.ts";
import { errorText } from "../errors.ts";

/**
 * After a failed apply of a pod created for a config hash (a rollout under way), one pass of the
 * sync container's config rollout (config-rollout.ts), from the init container. The pod stuck here
 * never starts its own sync container, and when no node runs one (a one-node cluster, or every
 * node stuck) nobody else would carry a fixed ConfigMap into the DaemonSet's template: the rollout
 * would stay stuck on the broken config for good. With this pass, fixing the ConfigMap is enough:
 * at its next retry the stuck init container patches the template, and the DaemonSet controller
 * replaces the pod. An unchanged ConfigMap changes nothing (its hash is the template's). Best effort:
 * the apply's own error is what the pod reports.
 */
export async function followConfigMap(
  target: EventTarget,
  podConfigHash: string,
  log: Logger,
): Promise<void> {
  try {
    const api = kubeApi(loadKubeConfig(target.kubeconfig));
    const outcome = await syncConfig({
      api,
      configMap: await api.get("configmaps", {
        namespace: target.namespace,
        name: target.configMapName,
      }),
      daemonSet: { namespace: target.namespace, name: target.daemonSetName },
      applied: () => Promise.resolve({ hash: podConfigHash, kubelet: null }),
    });
    if (outcome.kind === "rolled-out") {
      log.info("the ConfigMap moved on: DaemonSet template set to its kubelet config", {
        action: "patch",
        object: `${target.namespace}/${target.daemonSetName}`,
        reason: `pod stands for ${podConfigHash}, ConfigMap for ${outcome.config.hash}`,
      });
    }
  } catch (e) {
    log.warn("could not compare the ConfigMap with the DaemonSet", {
      error: errorText(e),
    });
  }
}
