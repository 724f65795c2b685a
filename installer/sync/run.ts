import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { KubeApi } from "../cluster/kube-api.ts";
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
import {
  keepWatching,
  keepWatchingAll,
  type KeptCollection,
  type KeptWatch,
} from "./object-watch.ts";
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
          if (!firstTime(e.once)) break;
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

/** What every piece of the sync container is wired with. */
interface Wiring {
  readonly config: SyncConfig;
  readonly api: KubeApi;
  readonly log: Logger;
  readonly metrics: SyncMetrics;
  readonly now: () => number;
  readonly objects: SyncObjects;
  readonly effects: ReturnType<typeof effectRunner>;
  readonly observeApplied: () => Promise<AppliedStatus | null>;
  readonly reporter: ReturnType<typeof nodeReporter>;
  /** Filled by the watches' lists; the loops read them (a change costs no GET). */
  readonly watched: { secrets?: KeptCollection; configMap?: KeptWatch };
}

/**
 * What the policy loop last decided about the ConfigMap's versions, which the config loop waits
 * for (core/rollout/rollout-gate.ts); `waiting`: the config loop waits for the next verdict.
 */
class Verdicts {
  latest: PolicyVerdict | null = null;
  waiting = false;
  release: () => void = () => undefined;

  decided(next: PolicyVerdict): void {
    this.latest = next;
    if (this.waiting) {
      this.waiting = false;
      this.release();
    }
  }
}

/** The policy loop: the Secrets and the ConfigMap → the node's policy file, then what it says. */
function policyLoopOf(
  w: Wiring,
  verdicts: Verdicts,
  passed: (outcome: PolicyOutcome) => void,
): ReconcileLoop {
  const { config, metrics, log } = w;
  const paths = hostPaths(config.hostRoot);
  const policyFile = paths.resolve(nodecredPaths.policyFile);
  const decoder = secretDecoder();
  return new ReconcileLoop({
    resyncMs: config.resyncMs,
    backoff: jitteredBackoff(500, 30_000),
    now: w.now,
    onError: (err) => {
      // A pass that failed refuses nothing: the rollout does not wait on a broken disk.
      const configMap = w.watched.configMap?.current();
      if (configMap !== undefined && configMap !== null) {
        verdicts.decided({ resourceVersion: versionOf(configMap).resourceVersion, refused: false });
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
      const applied = await w.observeApplied();
      const secrets = w.watched.secrets?.current();
      const configMap = w.watched.configMap?.current();
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
      passed(outcome);
      verdicts.decided({
        resourceVersion: outcome.configResourceVersion,
        refused: outcome.file.kind === "refused",
      });
      metrics.reconciles.inc({ loop: "policy", result: "ok" });
      if (outcome.file.kind === "written" || outcome.file.kind === "unchanged") {
        metrics.lastSuccess.setToCurrentTime({ loop: "policy" });
      }
      const appliedHash = applied?.kubeletConfigHash ?? null;
      w.effects.run(policyEffects(w.objects, outcome, appliedHash));
      w.reporter.afterPass(outcome, appliedHash);
    },
  });
}

/** The config loop: a ConfigMap change the kubelet must read → the DaemonSet's pod template. */
function configLoopOf(w: Wiring, verdicts: Verdicts): ReconcileLoop {
  const { config, metrics, log } = w;
  return new ReconcileLoop({
    resyncMs: config.resyncMs,
    backoff: jitteredBackoff(1000, 60_000),
    now: w.now,
    onError: (err) => {
      metrics.reconciles.inc({ loop: "config", result: "error" });
      metrics.errors.inc({ source: "reconcile" });
      log.error("config sync failed", { error: errorText(err) });
    },
    reconcile: async () => {
      const configMap = w.watched.configMap?.current();
      if (configMap === undefined) return;
      const gate = rolloutGate(configMap, verdicts.latest);
      if (gate !== "go") {
        verdicts.waiting = true;
        const version = verdicts.latest?.resourceVersion ?? "";
        if (gate === "refused" && w.effects.firstTime(`rollout-held-${version}`)) {
          log.warn("ConfigMap not rolled out: its credential sets are refused (ConfigRejected)", {
            object: `${config.namespace}/${config.configMapName}`,
            resourceVersion: version,
          });
        }
        return;
      }
      const outcome = await syncConfig({
        api: w.api,
        configMap,
        daemonSet: { namespace: config.namespace, name: config.daemonSetName },
        applied: async () => {
          const applied = await w.observeApplied();
          return applied === null
            ? null
            : { hash: applied.kubeletConfigHash, kubelet: applied.kubelet };
        },
      });
      metrics.reconciles.inc({ loop: "config", result: "ok" });
      w.effects.run(configEffects(w.objects, outcome));
    },
  });
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
  const w = wiringOf(config, api, log, options);
  const { metrics } = w;
  /** The last policy pass that ran to its end: readiness starts from it. */
  let lastPolicy: PolicyOutcome | null = null;
  const verdicts = new Verdicts();
  const policyLoop = policyLoopOf(w, verdicts, (outcome) => {
    lastPolicy = outcome;
  });
  const configLoop = configLoopOf(w, verdicts);
  verdicts.release = () => {
    configLoop.markDirty();
  };
  const watches = keepWatches(w, {
    secrets: () => {
      policyLoop.markDirty();
    },
    configMap: () => {
      policyLoop.markDirty();
      configLoop.markDirty();
    },
  });
  policyLoop.start();
  configLoop.start();

  const server = await serveProbes(
    w,
    { policy: policyLoop, config: configLoop },
    watches,
    () => lastPolicy,
  );
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.listen.port;
  log.info("sync started", {
    node: config.nodeName,
    secret: `${config.namespace}/${config.secretName}`,
    configMap: `${config.namespace}/${config.configMapName}`,
    port,
  });

  return {
    metrics,
    port,
    async idle(): Promise<void> {
      await Promise.all([policyLoop.idle(), configLoop.idle()]);
      await w.reporter.idle();
    },
    async stop(): Promise<void> {
      watches.secrets.stop();
      watches.configMap.stop();
      await Promise.all([policyLoop.stop(), configLoop.stop()]);
      await w.reporter.stop();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      log.info("sync stopped", { node: config.nodeName });
    },
  };
}

/** The two kept watches, each marking its loops dirty on a change. */
function keepWatches(
  w: Wiring,
  onChange: { readonly secrets: () => void; readonly configMap: () => void },
): { readonly secrets: KeptCollection; readonly configMap: KeptWatch } {
  const watchError =
    (kind: string) =>
    (err: unknown, retryInMs: number): void => {
      w.metrics.errors.inc({ source: "watch" });
      w.log.warn("watch ended; restarting", { kind, error: errorText(err), retryInMs });
    };
  const secrets = keepWatchingAll({
    api: w.api,
    kind: "secrets",
    namespace: w.config.namespace,
    backoff: jitteredBackoff(500, 30_000),
    onChange: onChange.secrets,
    onError: watchError("secrets"),
    now: w.now,
  });
  const configMap = keepWatching({
    api: w.api,
    kind: "configmaps",
    ref: { namespace: w.config.namespace, name: w.config.configMapName },
    backoff: jitteredBackoff(500, 30_000),
    onChange: onChange.configMap,
    onError: watchError("configmaps"),
    now: w.now,
  });
  w.watched.secrets = secrets;
  w.watched.configMap = configMap;
  return { secrets, configMap };
}

/** `/healthz`: stuck when a loop or a kept watch has not moved within its bound (health.ts). */
function livenessProbe(
  w: Wiring,
  loops: { readonly policy: ReconcileLoop; readonly config: ReconcileLoop },
  watches: { readonly secrets: KeptCollection; readonly configMap: KeptWatch },
): () => string | null {
  const bounds = healthBounds(w.config.resyncMs);
  let stuck = false;
  return () => {
    const why = stuckReason(
      { "policy loop": loops.policy.progress(), "config loop": loops.config.progress() },
      {
        [`watch of the Secrets of ${w.config.namespace}`]: watches.secrets.progress(),
        [`watch of ConfigMap ${w.config.configMapName}`]: watches.configMap.progress(),
      },
      w.now(),
      bounds,
    );
    // The kubelet restarts the container after a few failed probes: its last logs say why.
    if (why !== null && !stuck) w.log.error("stuck: /healthz fails", { reason: why });
    stuck = why !== null;
    return why;
  };
}

function wiringOf(config: SyncConfig, api: KubeApi, log: Logger, options: SyncOptions): Wiring {
  const metrics = syncMetrics();
  return {
    config,
    api,
    log,
    metrics,
    now: options.now ?? ((): number => performance.now()),
    objects: {
      namespace: config.namespace,
      secret: config.secretName,
      configMap: config.configMapName,
      daemonSet: config.daemonSetName,
      pod: config.podName,
      node: config.nodeName,
    },
    effects: effectRunner(config, api, log, metrics),
    observeApplied: appliedObserver(config.appliedStatusFile, metrics),
    reporter: nodeReporter(config, api, log, metrics),
    watched: {},
  };
}

/** `/healthz`, `/readyz` (core/rollout/readiness.ts, carried into the node report), `/metrics`. */
function serveProbes(
  w: Wiring,
  loops: { readonly policy: ReconcileLoop; readonly config: ReconcileLoop },
  watches: { readonly secrets: KeptCollection; readonly configMap: KeptWatch },
  lastPolicy: () => PolicyOutcome | null,
): Promise<Server> {
  const { config } = w;
  return startStatusServer(
    config.listen,
    {
      healthy: livenessProbe(w, loops, watches),
      ready: async () => {
        const applied = await w.observeApplied();
        const why = notReadyReason({
          policy: lastPolicy(),
          defaultSecret: config.secretName,
          appliedRecorded: config.appliedStatusFile !== null,
          appliedHash: applied?.kubeletConfigHash ?? null,
          podConfigHash: config.podConfigHash,
          kubeletHealthy:
            config.kubeletHealthzUrl === "" || (await healthzOk(config.kubeletHealthzUrl)),
        });
        w.reporter.readiness(why);
        return why;
      },
    },
    w.metrics.registry,
  );
}
