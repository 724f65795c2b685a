import { Counter, Gauge, Registry } from "prom-client";

/** The sync loop's Prometheus metrics (`/metrics`), on a registry of its own. */
export interface SyncMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<"loop" | "result">;
  readonly rotations: Counter;
  readonly liveConfigUpdates: Counter;
  readonly rejectedConfigs: Counter;
  readonly rejectedSecrets: Counter;
  readonly errors: Counter<"source">;
  readonly reportWrites: Counter;
  readonly lastSuccess: Gauge<"loop">;
  readonly appliedConfig: Gauge<"hash">;
}

export function syncMetrics(): SyncMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    reconciles: new Counter({
      name: "nodecred_reconciles_total",
      help: "Reconcile passes, by loop (policy, config) and result (ok, error).",
      labelNames: ["loop", "result"],
      registers,
    }),
    rotations: new Counter({
      name: "nodecred_credentials_rotations_total",
      help: "Times the node's policy file was rewritten with changed credentials from the Secrets (the default one, credential sets').",
      registers,
    }),
    liveConfigUpdates: new Counter({
      name: "nodecred_policy_rules_updates_total",
      help: "Times the node's policy file was rewritten with changed matchImages from the ConfigMap (live, no kubelet restart).",
      registers,
    }),
    rejectedConfigs: new Counter({
      name: "nodecred_config_rejected_total",
      help: "ConfigMap versions refused because the kubelet would reject the result, or because its credential sets cannot be used with the Secrets as they are (once per version and set of problems).",
      registers,
    }),
    rejectedSecrets: new Counter({
      name: "nodecred_secret_rejected_total",
      help: "Versions of the Secrets in use refused as malformed (the last good credentials were kept).",
      registers,
    }),
    errors: new Counter({
      name: "nodecred_errors_total",
      help: "Errors, by source (watch, reconcile, event, report).",
      labelNames: ["source"],
      registers,
    }),
    reportWrites: new Counter({
      name: "nodecred_node_report_writes_total",
      help: "Writes of this node's report (its Lease in nodecred's namespace): one per change of what it says.",
      registers,
    }),
    lastSuccess: new Gauge({
      name: "nodecred_last_success_timestamp_seconds",
      help: "Unix time of the last successful reconcile pass, by loop.",
      labelNames: ["loop"],
      registers,
    }),
    appliedConfig: new Gauge({
      name: "nodecred_config_applied_info",
      help: "1 for the kubelet config hash this node runs (the init container's status file, read on every pass).",
      labelNames: ["hash"],
      registers,
    }),
  };
}
