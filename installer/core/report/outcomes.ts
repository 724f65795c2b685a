import type { ObjectVersion } from "../api-object.ts";
import type { KubeletSpec } from "../kubelet/kubelet-spec.ts";
import type { Problem } from "../problems.ts";
import type { RolloutConfig } from "../rollout/configmap-check.ts";

/**
 * What one pass of each of the sync container's loops found and did, as values: the policy loop
 * (sync/policy-sync.ts: the Secrets and the ConfigMap → the node's policy file) and the config loop
 * (sync/config-rollout.ts: the ConfigMap → the DaemonSet's pod template). The passes produce
 * them; readiness (rollout/readiness.ts), the node report (node-report.ts) and what a node logs,
 * counts and records as Events (sync-effects.ts) are pure functions of them.
 */

/** A version of the Secret or ConfigMap that cannot be used, and why (its uid: `kubectl describe`). */
export interface RejectedVersion extends ObjectVersion {
  readonly problems: readonly Problem[];
}

export type SecretState =
  /** Not listed (yet): the watch has not delivered it, e.g. while the API server is away. */
  | { readonly kind: "unknown" }
  | { readonly kind: "ok"; readonly resourceVersion: string }
  | { readonly kind: "missing" }
  | ({ readonly kind: "invalid" } & RejectedVersion);

export type FileState =
  | {
      readonly kind: "written";
      /**
       * The Secrets whose credentials differ from the file's (all of them for a first write),
       * by name, in the file's order.
       */
      readonly credentialsChanged: readonly string[];
      /** The rules differ from those of an existing valid file. */
      readonly rulesChanged: boolean;
    }
  | { readonly kind: "unchanged" }
  /** Nothing to write: the part is neither in the cluster nor on the node. */
  | { readonly kind: "incomplete"; readonly missing: readonly string[] }
  /** The ConfigMap's credential sets cannot be used with these Secrets; nothing written. */
  | { readonly kind: "refused"; readonly problems: readonly Problem[] };

export interface PolicyOutcome {
  /** The default Secret (the one the DaemonSet mounts). */
  readonly secret: SecretState;
  /**
   * Every other Secret the file's credential sets come from (the ConfigMap's when it is valid,
   * else the current file's), by name; empty when unscoped. A missing one is refused, not listed.
   */
  readonly setSecrets: ReadonlyMap<string, SecretState>;
  /** The ConfigMap's kubelet config hash when it is valid (its rules went into the file). */
  readonly configHash: string | null;
  readonly configResourceVersion: string;
  readonly configUid: string;
  readonly file: FileState;
}

export type ConfigOutcome =
  | ({ readonly kind: "current"; readonly config: RolloutConfig } & ObjectVersion)
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
