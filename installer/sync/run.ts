import { readFile } from "node:fs/promises";
import type { KubeApi, ObjectRef } from "../cluster/kube-api.ts";
import { versionOf } from "../core/api-object.ts";
import { parseAppliedStatus, type AppliedStatus } from "../core/kubelet/kubelet-spec.ts";
import { nodecredPaths } from "../core/node/flavour.ts";
import {
  leaseNameOk,
  nodeReport,
  withReadiness,
  type NodeReport,
  type Readiness,
} from "../core/report/node-report.ts";
import type { PolicyOutcome } from "../core/report/outcomes.ts";
import {
  configEffects,
  policyEffects,
  type Effect,
  type SyncObjects,
} from "../core/report/sync-effects.ts";
import { notReadyReason } from "../core/rollout/readiness.ts";
import { rolloutGate, type PolicyVerdict } from "../core/rollout/rollout-gate.ts";
import { errorText } from "../errors.ts";
import { readCurrentFile, requireDirMode, writeFileAtomic } from "../host/atomic-write.ts";
import { hostPaths } from "../host/host-paths.ts";
import type { Logger } from "../log.ts";
import { healthzOk } from "../process/healthz.ts";
import { jitteredBackoff } from "./backoff.ts";
import { syncConfig } from "./config-rollout.ts";
import { healthBounds, stuckReason } from "./health.ts";
import { syncMetrics, type SyncMetrics } from "./metrics.ts";
import { keepWatching, keepWatchingAll } from "./object-watch.ts";
import { syncPolicy } from "./policy-sync.ts";
import { ReconcileLoop } from "./reconcile-loop.ts";
import { reportWriter } from "./report-writer.ts";
import { secretDecoder } from "./secret-decoder.ts";
import { startStatusServer } from "./status-server.ts";

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

/** Carries out what a pass says (core/report/sync-effects.ts): logs, counters, Events once each. */
function effectRunner(
  config: SyncConfig,
  api: KubeApi,
  log: Logger,
  metrics: SyncMetrics,
): { run(effects: readonly Effect[]): void; firstTime(key: string): boolean } {
  // What one object version says is reported once, not at every resync.
  const reported = new Set<string>();
  const firstTime = (key: string): boolean => {
    if (reported.has(key)) return false;
    reported.add(key);
    return true;
  };
  const run = (effects: readonly Effect[]): void => {
    for (const e of effects) {
      switch (e.kind) {
        case "log":
          log[e.level](e.message, e.fields);
          break;
        case "count":
          metrics[e.counter].inc();
          break;
        case "count-once":
          if (firstTime(e.once)) metrics[e.counter].inc();
          break;
        case "succeeded":
          metrics.lastSuccess.setToCurrentTime({ loop: "config" });
          break;
        case "events":
          if (e.once !== null && !firstTime(e.once)) break;
          if (e.countFirst !== undefined) metrics[e.countFirst].inc();
          for (const spec of e.events) {
            api.event(config.namespace, component, spec).catch((err: unknown) => {
              metrics.errors.inc({ source: "event" });
              log.warn("could not record event", { reason: spec.reason, error: errorText(err) });
            });
          }
          break;
      }
    }
  };
  return { run, firstTime };
}

/**
 * The apply init container's record, read on every pass and by /readyz: the one reader of the
 * file, so `nodecred_config_applied_info` follows it whoever asks.
 */
function appliedObserver(
  file: string | null,
  metrics: SyncMetrics,
): () => Promise<AppliedStatus | null> {
  let appliedHash: string | null | undefined;
  return async () => {
    let applied: AppliedStatus | null = null;
    if (file !== null) {
      try {
        applied = parseAppliedStatus(await readFile(file, "utf8"));
      } catch {
        applied = null;
      }
    }
    const hash = applied?.kubeletConfigHash ?? null;
    if (hash !== appliedHash) {
      metrics.appliedConfig.reset();
      if (hash !== null) metrics.appliedConfig.set({ hash }, 1);
      appliedHash = hash;
    }
    return applied;
  };
}

/**
 * The node report (core/report/node-report.ts): this node's Lease, written when what it says
 * changes. It replaces an Event per node and rotation; failures are counted and retried with
 * backoff. `/readyz`'s latest answer rides along (labels `nodecred.io/ready`, annotation
 * `nodecred.io/not-ready`): the kubelet probes every few seconds, but the writer sends only a
 * report that differs from the last one written, so the Lease changes when the answer does.
 */
function nodeReporter(
  config: SyncConfig,
  api: KubeApi,
  log: Logger,
  metrics: SyncMetrics,
): {
  afterPass(outcome: PolicyOutcome, appliedHash: string | null): void;
  readiness(why: string | null): void;
  idle(): Promise<void>;
  stop(): Promise<void>;
} {
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
  let readiness: Readiness | null = null;
  return {
    afterPass(outcome, appliedHash) {
      report = nodeReport(report, outcome, appliedHash);
      if (report !== null) writer?.offer(withReadiness(report, readiness));
    },
    readiness(why) {
      const next: Readiness = why === null ? { ready: true } : { ready: false, reason: why };
      if (JSON.stringify(next) === JSON.stringify(readiness)) return;
      readiness = next;
      if (report !== null) writer?.offer(withReadiness(report, readiness));
    },
    idle: async () => writer?.idle(),
    stop: async () => writer?.stop(),
  };
}

/**
 * The unprivileged main container. Two level-triggered loops over two kept watches — the ConfigMap
 * by name, and every Secret of nodecred's namespace (the default one and each credential set's:
 * one watch per node however many sets there are): the policy loop keeps the node's policy file
 * (matchImages + credentials or credential sets, read by the provider on every pull) in step with
 * them; the config loop turns a ConfigMap change the kubelet must read (a new envelope, provider
 * name, cache duration, template, scopes on or off) into a rollout of our DaemonSet. A resync
 * catches anything missed. What each pass means — its logs, counters and Events, the node's
 * readiness and report — are pure functions in core/; this only wires them to the loops.
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
  const objects: SyncObjects = {
    namespace: config.namespace,
    secret: config.secretName,
    configMap: config.configMapName,
    daemonSet: config.daemonSetName,
    pod: config.podName,
    node: config.nodeName,
  };
  const configMapRef: ObjectRef = { namespace: config.namespace, name: config.configMapName };
  const effects = effectRunner(config, api, log, metrics);
  const observeApplied = appliedObserver(config.appliedStatusFile, metrics);
  const reporter = nodeReporter(config, api, log, metrics);
  const decoder = secretDecoder();

  // The watches' lists fill these; the loops read them (a change costs no GET).
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
  function watchError(kind: string): (err: unknown, retryInMs: number) => void {
    return (err, retryInMs) => {
      metrics.errors.inc({ source: "watch" });
      log.warn("watch ended; restarting", { kind, error: errorText(err), retryInMs });
    };
  }

  /** The last policy pass that ran to its end: readiness and the node report start from it. */
  let lastPolicy: PolicyOutcome | null = null;
  /**
   * The policy loop's verdict on the ConfigMap's versions, which the config loop waits for
   * (core/rollout/rollout-gate.ts); `configWaits`: the config loop is waiting for the next one.
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
    now,
    onError: (err) => {
      // A pass that failed refuses nothing: the rollout does not wait on a broken disk.
      const configMap = configMapWatch.current();
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
    reconcile: async () => {
      const applied = await observeApplied();
      const secrets = secretsWatch.current();
      const configMap = configMapWatch.current();
      // Neither listed yet: the first list marks the loop dirty again. One alone is enough: the
      // other part stays as the file has it.
      if (secrets === undefined && configMap === undefined) return;
      const outcome = await syncPolicy({
        secrets,
        defaultSecret: config.secretName,
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
      if (outcome.file.kind === "written" || outcome.file.kind === "unchanged") {
        metrics.lastSuccess.setToCurrentTime({ loop: "policy" });
      }
      const appliedHash = applied?.kubeletConfigHash ?? null;
      effects.run(policyEffects(objects, outcome, appliedHash));
      reporter.afterPass(outcome, appliedHash);
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
      const configMap = configMapWatch.current();
      if (configMap === undefined) return;
      const gate = rolloutGate(configMap, verdict);
      if (gate !== "go") {
        configWaits = true;
        if (
          gate === "refused" &&
          effects.firstTime(`rollout-held-${verdict?.resourceVersion ?? ""}`)
        ) {
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
        daemonSet: { namespace: config.namespace, name: config.daemonSetName },
        applied: async () => {
          const applied = await observeApplied();
          return applied === null
            ? null
            : { hash: applied.kubeletConfigHash, kubelet: applied.kubelet };
        },
      });
      metrics.reconciles.inc({ loop: "config", result: "ok" });
      effects.run(configEffects(objects, outcome));
    },
  });
  policyLoop.start();
  configLoop.start();

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
        const applied = await observeApplied();
        const why = notReadyReason({
          policy: lastPolicy,
          defaultSecret: config.secretName,
          appliedRecorded: config.appliedStatusFile !== null,
          appliedHash: applied?.kubeletConfigHash ?? null,
          podConfigHash: config.podConfigHash,
          kubeletHealthy:
            config.kubeletHealthzUrl === "" || (await healthzOk(config.kubeletHealthzUrl)),
        });
        reporter.readiness(why);
        return why;
      },
    },
    metrics.registry,
  );
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.listen.port;
  log.info("sync started", {
    node: config.nodeName,
    secret: `${config.namespace}/${config.secretName}`,
    configMap: `${configMapRef.namespace}/${configMapRef.name}`,
    port,
  });

  return {
    metrics,
    port,
    async idle(): Promise<void> {
      await Promise.all([policyLoop.idle(), configLoop.idle()]);
      await reporter.idle();
    },
    async stop(): Promise<void> {
      secretsWatch.stop();
      configMapWatch.stop();
      await Promise.all([policyLoop.stop(), configLoop.stop()]);
      await reporter.stop();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      log.info("sync stopped", { node: config.nodeName });
    },
  };
}
