import { versionOf, type ApiObject } from "../api-object.ts";

/** What the policy loop last decided about a version of the ConfigMap. */
export interface PolicyVerdict {
  readonly resourceVersion: string;
  /** Its credential sets cannot be used with the Secrets as they are (sync/policy-sync.ts). */
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
