import type { PolicyOutcome } from "../report/outcomes.ts";

/**
 * When the sync container is ready (`/readyz`, the DaemonSet's readinessProbe): the one rule
 * the DaemonSet controller's rollout waits on, node by node (why a rollout stops at a failing
 * node: rollout/README.md). Ready means, in this order:
 * 1. the node's policy file stands for the cluster's objects: the last policy pass wrote or kept
 *    it, with every Secret it uses as it is now (a missing or rejected Secret is not ready, though
 *    the node keeps pulling with its last good credentials);
 * 2. the apply init container recorded the kubelet config this node runs;
 * 3. that is the config this pod was created for (the pod template's hash);
 * 4. the kubelet is healthy.
 * The reason is a stable sentence (no times, no counters): it goes into the node report, which is
 * written only when it changes.
 */
export interface ReadinessInputs {
  /** The last policy pass that ran to its end (null: none yet). */
  readonly policy: PolicyOutcome | null;
  /** The default Secret's name, for the reason. */
  readonly defaultSecret: string;
  /** Whether apply records what it applied here (the manifests' pods do; a bare `run` may not). */
  readonly appliedRecorded: boolean;
  /** The kubelet config hash apply recorded (null: no record, or none to be had). */
  readonly appliedHash: string | null;
  /** The pod template's kubelet config hash this pod was created with ("": none yet). */
  readonly podConfigHash: string;
  /** The kubelet's healthz answered (true when kubelet health is not part of readiness). */
  readonly kubeletHealthy: boolean;
}

/** Whether a pass left the policy file standing for every object it uses. */
export function policyInStep(outcome: PolicyOutcome): boolean {
  return (
    (outcome.file.kind === "written" || outcome.file.kind === "unchanged") &&
    outcome.secret.kind === "ok" &&
    [...outcome.setSecrets.values()].every((s) => s.kind === "ok")
  );
}

/** Why the policy file does not stand for the cluster's objects. */
function notSyncedReason(outcome: PolicyOutcome | null, defaultSecret: string): string {
  if (outcome === null) return "no pass yet";
  const { file } = outcome;
  if (file.kind === "incomplete") return `no valid ${file.missing.join(" or ")}`;
  if (file.kind === "refused") return "ConfigMap refused with the Secrets as they are";
  const secrets = [[defaultSecret, outcome.secret] as const, ...outcome.setSecrets];
  return secrets
    .filter(([, state]) => state.kind !== "ok")
    .map(([name, state]) => `Secret ${name} ${state.kind}`)
    .join(", ");
}

/** Why this node is not ready, or null when it is. */
export function notReadyReason(inputs: ReadinessInputs): string | null {
  const { policy, appliedHash, podConfigHash } = inputs;
  if (policy === null || !policyInStep(policy)) {
    return `policy file not synced yet (${notSyncedReason(policy, inputs.defaultSecret)})`;
  }
  if (inputs.appliedRecorded && appliedHash === null) {
    return "no applied config recorded by the apply init container";
  }
  if (podConfigHash !== "" && appliedHash !== null && appliedHash !== podConfigHash) {
    return `node runs kubelet config ${appliedHash}, this pod stands for ${podConfigHash}`;
  }
  if (!inputs.kubeletHealthy) return "kubelet not healthy";
  return null;
}
