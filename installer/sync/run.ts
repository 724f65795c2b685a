import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { versionOf, type EventSpec, type KubeApi, type ObjectRef } from "../cluster/kube-api.ts";
import { nodecredPaths } from "../core/node/flavour.ts";
import {
  leaseNameOk,
  nodeReport,
  withReadiness,
  type NodeReport,
  type Readiness,
} from "../core/report/node-report.ts";
import { parseAppliedStatus, type AppliedStatus } from "../core/kubelet/kubelet-spec.ts";
import { formatProblem, type Problem } from "../core/problems.ts";
import { readCurrentFile, requireDirMode, writeFileAtomic } from "../host/atomic-write.ts";
import { hostPaths } from "../host/host-paths.ts";
import type { Logger } from "../log.ts";
import { healthzOk } from "../process/healthz.ts";
import { jitteredBackoff } from "./backoff.ts";
import {
  configHashAnnotation,
  rolloutGate,
  syncConfig,
  type PolicyVerdict,
  type RejectedVersion,
} from "./config-rollout.ts";
import { healthBounds, stuckReason } from "./health.ts";
import { syncPolicy, type PolicyOutcome } from "./policy-sync.ts";
import { syncMetrics, type SyncMetrics } from "./metrics.ts";
import {
  keepWatching,
  keepWatchingAll,
  type KeptCollection,
  type KeptWatch,
} from "./object-watch.ts";
import { ReconcileLoop } from "./reconcile-loop.ts";
import { reportWriter } from "./report-writer.ts";
import { secretDecoder } from "./secret-decoder.ts";
import { startStatusServer } from "./status-server.ts";
import { errorText } from "../errors.ts";

/** Everything `nodecred-installer run` needs, resolved once at start-up (cli/sync-config.ts). */
export interface SyncConfig {
  readonly namespace: string;
  readonly secretName: string;
  readonly configMapName: string;
  readonly daemonSetName: string;
  readonly nodeName: string;
  readonly podName: string;
  /** The pod's uid (downward API): its node report's owner ("": the report has no owner). */
  readonly podUid: string;
  readonly hostRoot: string;
  readonly kubeconfig: string | null;
  readonly listen: { readonly host: string; readonly port: number };
  readonly resyncMs: number;
  /** The pod template's kubelet-config-hash annotation this pod was created with ("" if none yet). */
  readonly podConfigHash: string;
  /** Written by the init container (`apply --status-file`): the kubelet config this node runs. */
  readonly appliedStatusFile: string | null;
  /** Kubelet health, part of readiness ("" to leave it out). */
  readonly kubeletHealthzUrl: string;
}

const component = "nodecred";

function summary(problems: readonly Problem[]): string {
  const shown = problems.slice(0, 5).map(formatProblem).join("; ");
  return problems.length > 5 ? `${shown}; and ${problems.length - 5} more` : shown;
}

async function readApplied(file: string | null): Promise<AppliedStatus | null> {
  if (file === null) return null;
  try {
    return parseAppliedStatus(await readFile(file, "utf8"));
  } catch {
    return null;
  }
}

async function kubeletHealthy(url: string): Promise<boolean> {
  return url === "" || (await healthzOk(url));
}

export interface SyncHandle {
  readonly metrics: SyncMetrics;
  /** The status server's bound port (the configured one, or the kernel's choice for port 0). */
  readonly port: number;
  /** Resolves when neither loop has a pass running or pending, nor a report write (tests). */
  idle(): Promise<void>;
  /** Stops watching, finishes the write in progress, closes the server. */
  stop(): Promise<void>;
}

export interface SyncOptions {
  /** A monotonic clock in ms for /healthz (default `performance.now`); tests step it by hand. */
  readonly now?: () => number;
}

/**
 * The unprivileged main container. Two level-triggered loops over two kept watches — the ConfigMap
 * by name, and every Secret of nodecred's namespace (the default one and each credential set's:
 * one watch per node however many sets there are): the policy loop keeps the node's policy file
 * (matchImages + credentials or credential sets, read by the provider on every pull) in step with
 * them; the config loop turns a ConfigMap change the kubelet must read (a new envelope, provider
 * name, cache duration, template, scopes on or off) into a rollout of our DaemonSet. A resync
 * catches anything missed.
 */
export async function startSync(
  config: SyncConfig,
  api: KubeApi,
  log: Logger,
  options: SyncOptions = {},
): Promise<SyncHandle> {
  const now = options.now ?? ((): number => performance.now());
  const metrics = syncMetrics();
  const paths = hostPaths(config.hostRoot);
  const policyFile = paths.resolve(nodecredPaths.policyFile);
  const secretRef: ObjectRef = { namespace: config.namespace, name: config.secretName };
  const secretRefOf = (name: string): ObjectRef => ({ namespace: config.namespace, name });
  const configMapRef: ObjectRef = { namespace: config.namespace, name: config.configMapName };
  const daemonSetRef: ObjectRef = { namespace: config.namespace, name: config.daemonSetName };

  // Warnings about one object version are reported once, not at every resync.
  const reported = new Set<string>();
  const firstTime = (key: string | null): boolean => {
    if (key === null) return true;
    if (reported.has(key)) return false;
    reported.add(key);
    return true;
  };
  const record = (spec: EventSpec): void => {
    api.event(config.namespace, component, spec).catch((err: unknown) => {
      metrics.errors.inc({ source: "event" });
      log.warn("could not record event", { reason: spec.reason, error: errorText(err) });
    });
  };
  /** What this node did: an Event on its Pod and on its Node. */
  const event = (
    key: string | null,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void => {
    if (!firstTime(key)) return;
    for (const regarding of [
      { kind: "Pod" as const, name: config.podName, namespace: config.namespace },
      { kind: "Node" as const, name: config.nodeName },
    ]) {
      record({ regarding, type, reason, message });
    }
  };
  /**
   * What every node sees alike — this version of the Secret or ConfigMap is invalid, applied live,
   * or rolled out — is one Event on that object for the whole cluster (`kubectl describe`), not two
   * per node: the Event's name is fixed by reason and resourceVersion (and `variant`, when one
   * version can be refused for several reasons), and whoever creates it first reports. Returns
   * whether this process reports it for the first time.
   */
  const clusterEvent = (
    regarding: { kind: "Secret" | "ConfigMap"; name: string; uid: string },
    objectVersion: string,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    variant = "",
  ): boolean => {
    const resourceVersion =
      objectVersion === "" || variant === "" ? objectVersion : `${objectVersion}.${variant}`;
    if (!firstTime(`${reason}-${resourceVersion}`)) return false;
    record({
      regarding: {
        kind: regarding.kind,
        name: regarding.name,
        namespace: config.namespace,
        ...(regarding.uid === "" ? {} : { uid: regarding.uid }),
      },
      type,
      reason,
      message,
      ...(resourceVersion === ""
        ? {}
        : { name: `nodecred-${reason.toLowerCase()}.${resourceVersion}` }),
    });
    return true;
  };

  /**
   * A Secret or ConfigMap version that cannot be used: logged by every node, one Warning Event on
   * the object for the cluster, counted once per version.
   */
  const rejected = (
    kind: "Secret" | "ConfigMap",
    ref: ObjectRef,
    version: RejectedVersion,
    kept: string,
  ): void => {
    log.warn(`${kind} rejected; ${kept}`, {
      object: `${ref.namespace}/${ref.name}`,
      resourceVersion: version.resourceVersion,
      problems: version.problems.map(formatProblem),
    });
    const reason = kind === "Secret" ? "SecretRejected" : "ConfigRejected";
    const first = clusterEvent(
      { kind, name: ref.name, uid: version.uid },
      version.resourceVersion,
      "Warning",
      reason,
      `${kind} ${ref.name} (resourceVersion ${version.resourceVersion}) rejected, ${kept}: ${summary(version.problems)}`,
    );
    if (first) (kind === "Secret" ? metrics.rejectedSecrets : metrics.rejectedConfigs).inc();
  };

  /**
   * The ConfigMap's credential sets cannot be used with the Secrets as they are (a Secret not
   * found, two sets that could serve one image in one namespace): logged by every node, one
   * Warning Event on the ConfigMap per version and set of problems (a Secret edit can make the
   * same version refused for another reason), counted once each. Problems name sets, Secrets and
   * registry keys, never credentials.
   */
  const refusedConfig = (outcome: PolicyOutcome, problems: readonly Problem[]): void => {
    const object = `${configMapRef.namespace}/${configMapRef.name}`;
    const resourceVersion = outcome.configResourceVersion;
    log.warn("ConfigMap refused with the Secrets as they are; policy file kept", {
      object,
      resourceVersion,
      problems: problems.map(formatProblem),
    });
    const variant = createHash("sha256")
      .update(JSON.stringify(problems))
      .digest("hex")
      .slice(0, 12);
    const message = `ConfigMap ${configMapRef.name}${resourceVersion === "" ? "" : ` (resourceVersion ${resourceVersion})`} refused with the Secrets as they are, nodes keep their policy file: ${summary(problems)}`;
    if (resourceVersion === "") {
      // The ConfigMap itself is not readable here (only the file's own sets were checked): the
      // node reports it.
      if (firstTime(`config-refused-${variant}`)) metrics.rejectedConfigs.inc();
      event(`config-refused-event-${variant}`, "Warning", "ConfigRejected", message);
      return;
    }
    const first = clusterEvent(
      { kind: "ConfigMap", name: configMapRef.name, uid: outcome.configUid },
      resourceVersion,
      "Warning",
      "ConfigRejected",
      message,
      variant,
    );
    if (first) metrics.rejectedConfigs.inc();
  };

  // Filled by the watches' lists; the loops read them (a change costs no GET).
  const watched = {
    secrets: undefined as KeptCollection | undefined,
    configMap: undefined as KeptWatch | undefined,
  };
  const decoder = secretDecoder();

  /**
   * The apply init container's record, read on every pass and by /readyz: the one reader of the
   * file, so `nodecred_config_applied_info` follows it whoever asks.
   */
  let appliedHash: string | null | undefined;
  const observeApplied = async (): Promise<AppliedStatus | null> => {
    const applied = await readApplied(config.appliedStatusFile);
    const hash = applied?.kubeletConfigHash ?? null;
    if (hash !== appliedHash) {
      metrics.appliedConfig.reset();
      if (hash !== null) metrics.appliedConfig.set({ hash }, 1);
      appliedHash = hash;
    }
    return applied;
  };

  /**
   * The node report (core/report/node-report.ts): this node's Lease, written when what it says changes.
   * It replaces an Event per node and rotation; failures are counted and retried with backoff.
   */
  const writer = leaseNameOk(config.nodeName)
    ? reportWriter({
        api,
        namespace: config.namespace,
        reporter: { nodeName: config.nodeName, podName: config.podName, podUid: config.podUid },
        backoff: jitteredBackoff(1000, 60_000),
        onWritten: () => {
          metrics.reportWrites.inc();
        },
        onError: (err, retryInMs) => {
          metrics.errors.inc({ source: "report" });
          log.warn("could not write the node report; retrying", {
            object: `${config.namespace}/${config.nodeName}`,
            error: errorText(err),
            retryInMs,
          });
        },
      })
    : null;
  let report: NodeReport | null = null;
  /**
   * `/readyz`'s latest answer, carried in the report (labels `nodecred.io/ready`, annotation
   * `nodecred.io/not-ready`): the kubelet probes every few seconds, but the writer sends only a
   * report that differs from the last one written, so the Lease changes when the answer does.
   */
  let readiness: Readiness | null = null;
  const observeReadiness = (why: string | null): void => {
    const next: Readiness = why === null ? { ready: true } : { ready: false, reason: why };
    if (JSON.stringify(next) === JSON.stringify(readiness)) return;
    readiness = next;
    if (report !== null) writer?.offer(withReadiness(report, readiness));
  };

  let policyGood = false;
  let lastPolicy: PolicyOutcome | null = null;
  const reportPolicy = async (outcome: PolicyOutcome): Promise<void> => {
    const { secret, file } = outcome;
    const secretName = `${secretRef.namespace}/${secretRef.name}`;
    switch (secret.kind) {
      case "ok":
      case "unknown":
        break;
      case "missing":
        log.warn("Secret not found; keeping the current credentials", { object: secretName });
        event(
          `secret-missing`,
          "Warning",
          "SecretMissing",
          `Secret ${secretName} not found; the node keeps its last credentials`,
        );
        break;
      case "invalid":
        rejected("Secret", secretRef, secret, "last good credentials kept");
        break;
    }
    for (const [name, state] of outcome.setSecrets) {
      if (state.kind === "invalid") {
        rejected(
          "Secret",
          secretRefOf(name),
          state,
          "its credential sets keep their last good credentials",
        );
      }
    }
    if (file.kind === "refused") {
      refusedConfig(outcome, file.problems);
      return;
    }
    if (file.kind === "incomplete") {
      log.warn("policy file not written: a part is neither in the cluster nor on the node", {
        path: nodecredPaths.policyFile,
        reason: `no valid ${file.missing.join(" or ")}`,
      });
      return;
    }
    if (file.kind === "unchanged") return;
    const object = `${configMapRef.namespace}/${configMapRef.name}`;
    // Only credentials that came from a Secret as it is now (not kept from the file) are news.
    const updated = file.credentialsChanged.flatMap((name) => {
      const state = name === secretRef.name ? secret : outcome.setSecrets.get(name);
      return state?.kind === "ok" ? [{ name, resourceVersion: state.resourceVersion }] : [];
    });
    if (updated.length > 0) {
      metrics.rotations.inc();
      for (const u of updated) {
        log.info("credentials written", {
          action: "write",
          path: nodecredPaths.policyFile,
          object: `${config.namespace}/${u.name}`,
          resourceVersion: u.resourceVersion,
        });
      }
    }
    if (!file.rulesChanged || outcome.configHash === null) return;
    metrics.liveConfigUpdates.inc();
    const applied = await observeApplied();
    const live = applied?.kubeletConfigHash === outcome.configHash;
    log.info("matchImages written to the policy file", {
      action: "write",
      path: nodecredPaths.policyFile,
      object,
      resourceVersion: outcome.configResourceVersion,
      reason: live
        ? `inside this node's kubelet config ${outcome.configHash}: live, no kubelet restart`
        : `the kubelet config changes too (${applied?.kubeletConfigHash ?? "unknown"} -> ${outcome.configHash}): live where the current one reaches, the rest after the rollout restarts this node's kubelet`,
    });
    if (live) {
      clusterEvent(
        { kind: "ConfigMap", name: configMapRef.name, uid: outcome.configUid },
        outcome.configResourceVersion,
        "Normal",
        "ConfigAppliedLive",
        `ConfigMap ${configMapRef.name} (resourceVersion ${outcome.configResourceVersion}): matchImages changed inside the kubelet's envelope (kubelet config ${outcome.configHash} unchanged); every node's policy file has it: no rollout, no kubelet restart`,
      );
    }
  };
  /**
   * The policy loop's verdict on the ConfigMap's versions, which the config loop waits for
   * (config-rollout.ts rolloutGate); `configWaits`: the config loop is waiting for the next one.
   */
  let verdict: PolicyVerdict | null = null;
  let configWaits = false;
  const decided = (next: PolicyVerdict): void => {
    verdict = next;
    if (configWaits) {
      configWaits = false;
      configLoop.markDirty();
    }
  };
  const policyLoop = new ReconcileLoop({
    resyncMs: config.resyncMs,
    backoff: jitteredBackoff(500, 30_000),
    onError: (err) => {
      // A pass that failed refuses nothing: the rollout does not wait on a broken disk.
      const configMap = watched.configMap?.current();
      if (configMap !== undefined && configMap !== null) {
        decided({ resourceVersion: versionOf(configMap).resourceVersion, refused: false });
      }
      metrics.reconciles.inc({ loop: "policy", result: "error" });
      metrics.errors.inc({ source: "reconcile" });
      const denied = errorText(err).includes("EACCES") || errorText(err).includes("EPERM");
      log.error("policy sync failed", {
        error: errorText(err),
        ...(denied
          ? {
              hint: "the credentials directory must belong to this container's user (apply --credentials-owner)",
            }
          : {}),
      });
    },
    now,
    reconcile: async () => {
      const applied = await observeApplied();
      const secrets = watched.secrets?.current();
      const configMap = watched.configMap?.current();
      // Neither listed yet: the first list marks the loop dirty again. One alone is enough: the
      // other part stays as the file has it.
      if (secrets === undefined && configMap === undefined) return;
      const outcome = await syncPolicy({
        secrets,
        defaultSecret: secretRef.name,
        decoder,
        configMap,
        read: async () => (await readCurrentFile(policyFile))?.bytes ?? null,
        write: async (bytes) => {
          await requireDirMode(paths.resolve(nodecredPaths.credentialsDir), 0o700);
          return writeFileAtomic(policyFile, bytes, 0o600);
        },
      });
      lastPolicy = outcome;
      decided({
        resourceVersion: outcome.configResourceVersion,
        refused: outcome.file.kind === "refused",
      });
      metrics.reconciles.inc({ loop: "policy", result: "ok" });
      policyGood =
        (outcome.file.kind === "written" || outcome.file.kind === "unchanged") &&
        outcome.secret.kind === "ok" &&
        [...outcome.setSecrets.values()].every((s) => s.kind === "ok");
      if (outcome.file.kind === "written" || outcome.file.kind === "unchanged") {
        metrics.lastSuccess.setToCurrentTime({ loop: "policy" });
      }
      await reportPolicy(outcome);
      report = nodeReport(report, outcome, applied?.kubeletConfigHash ?? null);
      if (report !== null) writer?.offer(withReadiness(report, readiness));
    },
  });

  const configLoop = new ReconcileLoop({
    resyncMs: config.resyncMs,
    backoff: jitteredBackoff(1000, 60_000),
    now,
    onError: (err) => {
      metrics.reconciles.inc({ loop: "config", result: "error" });
      metrics.errors.inc({ source: "reconcile" });
      log.error("config sync failed", { error: errorText(err) });
    },
    reconcile: async () => {
      const configMap = watched.configMap?.current();
      if (configMap === undefined) return;
      const gate = rolloutGate(configMap, verdict);
      if (gate !== "go") {
        configWaits = true;
        if (gate === "refused" && firstTime(`rollout-held-${verdict?.resourceVersion ?? ""}`)) {
          log.warn("ConfigMap not rolled out: its credential sets are refused (ConfigRejected)", {
            object: `${configMapRef.namespace}/${configMapRef.name}`,
            resourceVersion: verdict?.resourceVersion ?? "",
          });
        }
        return;
      }
      const outcome = await syncConfig({
        api,
        configMap,
        daemonSet: daemonSetRef,
        applied: async () => {
          const applied = await observeApplied();
          return applied === null
            ? null
            : { hash: applied.kubeletConfigHash, kubelet: applied.kubelet };
        },
      });
      metrics.reconciles.inc({ loop: "config", result: "ok" });
      switch (outcome.kind) {
        case "current":
          metrics.lastSuccess.setToCurrentTime({ loop: "config" });
          break;
        case "rolled-out": {
          metrics.lastSuccess.setToCurrentTime({ loop: "config" });
          log.info("kubelet config change rolled out", {
            action: "patch",
            object: `${daemonSetRef.namespace}/${daemonSetRef.name}`,
            annotation: configHashAnnotation,
            hash: outcome.config.hash,
            reason: outcome.reasons.join("; "),
          });
          clusterEvent(
            { kind: "ConfigMap", name: configMapRef.name, uid: outcome.uid },
            outcome.resourceVersion,
            "Normal",
            "ConfigRolloutStarted",
            `ConfigMap ${configMapRef.name} (resourceVersion ${outcome.resourceVersion}) needs a kubelet restart (${outcome.reasons.join("; ")}): DaemonSet ${daemonSetRef.name} rolls kubelet config ${outcome.config.hash} out node by node`,
          );
          break;
        }
        case "missing":
          log.warn("ConfigMap not found; nothing to roll out", {
            object: `${configMapRef.namespace}/${configMapRef.name}`,
          });
          break;
        case "invalid":
          rejected("ConfigMap", configMapRef, outcome, "nodes keep their config");
          break;
      }
    },
  });

  const watchError =
    (kind: string) =>
    (err: unknown, retryInMs: number): void => {
      metrics.errors.inc({ source: "watch" });
      log.warn("watch ended; restarting", { kind, error: errorText(err), retryInMs });
    };
  const secretsWatch = keepWatchingAll({
    api,
    kind: "secrets",
    namespace: config.namespace,
    backoff: jitteredBackoff(500, 30_000),
    onChange: () => {
      policyLoop.markDirty();
    },
    onError: watchError("secrets"),
    now,
  });
  const configMapWatch = keepWatching({
    api,
    kind: "configmaps",
    ref: configMapRef,
    backoff: jitteredBackoff(500, 30_000),
    onChange: () => {
      policyLoop.markDirty();
      configLoop.markDirty();
    },
    onError: watchError("configmaps"),
    now,
  });
  watched.secrets = secretsWatch;
  watched.configMap = configMapWatch;
  policyLoop.start();
  configLoop.start();

  /** Why this node is not ready (`/readyz`, and the report), or null: stable sentences. */
  const notReadyReason = async (): Promise<string | null> => {
    if (!policyGood) {
      const why = notSyncedReason(lastPolicy, secretRef.name);
      return `policy file not synced yet (${why})`;
    }
    const applied = await observeApplied();
    if (config.appliedStatusFile !== null && applied === null) {
      return "no applied config recorded by the apply init container";
    }
    if (
      config.podConfigHash !== "" &&
      applied !== null &&
      applied.kubeletConfigHash !== config.podConfigHash
    ) {
      return `node runs kubelet config ${applied.kubeletConfigHash}, this pod stands for ${config.podConfigHash}`;
    }
    if (!(await kubeletHealthy(config.kubeletHealthzUrl))) return "kubelet not healthy";
    return null;
  };
  const bounds = healthBounds(config.resyncMs);
  let stuck = false;
  const server = await startStatusServer(
    config.listen,
    {
      healthy: () => {
        const why = stuckReason(
          { "policy loop": policyLoop.progress(), "config loop": configLoop.progress() },
          {
            [`watch of the Secrets of ${config.namespace}`]: secretsWatch.progress(),
            [`watch of ConfigMap ${configMapRef.name}`]: configMapWatch.progress(),
          },
          now(),
          bounds,
        );
        // The kubelet restarts the container after a few failed probes: its last logs say why.
        if (why !== null && !stuck) log.error("stuck: /healthz fails", { reason: why });
        stuck = why !== null;
        return why;
      },
      ready: async () => {
        const why = await notReadyReason();
        observeReadiness(why);
        return why;
      },
    },
    metrics.registry,
  );
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.listen.port;
  log.info("sync started", {
    node: config.nodeName,
    secret: `${secretRef.namespace}/${secretRef.name}`,
    configMap: `${configMapRef.namespace}/${configMapRef.name}`,
    port,
  });

  return {
    metrics,
    port,
    async idle(): Promise<void> {
      await Promise.all([policyLoop.idle(), configLoop.idle()]);
      await writer?.idle();
    },
    async stop(): Promise<void> {
      secretsWatch.stop();
      configMapWatch.stop();
      await Promise.all([policyLoop.stop(), configLoop.stop()]);
      await writer?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      log.info("sync stopped", { node: config.nodeName });
    },
  };
}

/** Why the policy file does not stand for the cluster's objects (readiness). */
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
