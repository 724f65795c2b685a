import { readFile } from "node:fs/promises";
import type { EventSpec, KubeApi, ObjectRef } from "../cluster/kube-api.ts";
import { formatProblem, type Problem } from "../core/problems.ts";
import { nodecredPaths } from "../core/flavour.ts";
import { requireDirMode, writeFileAtomic } from "../host/atomic-write.ts";
import { hostPaths } from "../host/host-paths.ts";
import type { Logger } from "../log.ts";
import { healthzOk } from "../process/kubelet-control.ts";
import { jitteredBackoff } from "./backoff.ts";
import { configHashAnnotation, syncConfig } from "./config-rollout.ts";
import { syncCredentials, type CredentialsOutcome } from "./credentials-sync.ts";
import { syncMetrics, type SyncMetrics } from "./metrics.ts";
import { keepWatching } from "./object-watch.ts";
import { ReconcileLoop } from "./reconcile-loop.ts";
import { startStatusServer } from "./status-server.ts";

/** Everything `nodecred-installer run` needs, resolved once at start-up (cli/sync-config.ts). */
export interface SyncConfig {
  readonly namespace: string;
  readonly secretName: string;
  readonly configMapName: string;
  readonly daemonSetName: string;
  readonly nodeName: string;
  readonly podName: string;
  readonly hostRoot: string;
  readonly kubeconfig: string | null;
  readonly listen: { readonly host: string; readonly port: number };
  readonly resyncMs: number;
  /** The pod template's config-hash annotation this pod was created with ("" if none yet). */
  readonly podConfigHash: string;
  /** Written by the init container (`apply --status-file`): the config hash this node applied. */
  readonly appliedStatusFile: string | null;
  /** Kubelet health, part of readiness ("" to leave it out). */
  readonly kubeletHealthzUrl: string;
}

const component = "nodecred";

function summary(problems: readonly Problem[]): string {
  const shown = problems.slice(0, 5).map(formatProblem).join("; ");
  return problems.length > 5 ? `${shown}; and ${problems.length - 5} more` : shown;
}

async function appliedHash(file: string | null): Promise<string | null> {
  if (file === null) return null;
  try {
    const status = JSON.parse(await readFile(file, "utf8")) as { configHash?: unknown };
    return typeof status.configHash === "string" ? status.configHash : null;
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
  /** Stops watching, finishes the write in progress, closes the server. */
  stop(): Promise<void>;
}

/**
 * The unprivileged main container: keeps the host credentials file in step with the Secret and
 * turns valid ConfigMap changes into a rollout of our DaemonSet. Two level-triggered loops, each
 * fed by its own list+watch; a resync catches anything missed.
 */
export async function startSync(
  config: SyncConfig,
  api: KubeApi,
  log: Logger,
): Promise<SyncHandle> {
  const metrics = syncMetrics();
  const paths = hostPaths(config.hostRoot);
  const credentialsFile = paths.resolve(nodecredPaths.credentialsFile);
  const secretRef: ObjectRef = { namespace: config.namespace, name: config.secretName };
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
   * What every node sees alike — this version of the Secret or ConfigMap is invalid — is one
   * Warning on that object for the whole cluster (`kubectl describe`), not two per node: the
   * Event's name is fixed by reason and resourceVersion, and whoever creates it first reports.
   */
  const rejected = (
    regarding: { kind: "Secret" | "ConfigMap"; name: string; uid: string },
    resourceVersion: string,
    reason: string,
    message: string,
  ): void => {
    if (!firstTime(`${reason}-${resourceVersion}`)) return;
    record({
      regarding: {
        kind: regarding.kind,
        name: regarding.name,
        namespace: config.namespace,
        ...(regarding.uid === "" ? {} : { uid: regarding.uid }),
      },
      type: "Warning",
      reason,
      message,
      ...(resourceVersion === ""
        ? {}
        : { name: `nodecred-${reason.toLowerCase()}.${resourceVersion}` }),
    });
  };

  let credentialsGood = false;
  let lastCredentials: CredentialsOutcome | null = null;
  const credentialsLoop = new ReconcileLoop({
    resyncMs: config.resyncMs,
    backoff: jitteredBackoff(500, 30_000),
    onError: (err) => {
      metrics.reconciles.inc({ loop: "credentials", result: "error" });
      metrics.errors.inc({ source: "reconcile" });
      const denied = errorText(err).includes("EACCES") || errorText(err).includes("EPERM");
      log.error("credentials sync failed", {
        error: errorText(err),
        ...(denied
          ? {
              hint: "the credentials directory must belong to this container's user (apply --credentials-owner)",
            }
          : {}),
      });
    },
    reconcile: async () => {
      const outcome = await syncCredentials({
        api,
        secret: secretRef,
        write: async (bytes) => {
          await requireDirMode(paths.resolve(nodecredPaths.credentialsDir), 0o700);
          return writeFileAtomic(credentialsFile, bytes, 0o600);
        },
      });
      lastCredentials = outcome;
      metrics.reconciles.inc({ loop: "credentials", result: "ok" });
      switch (outcome.kind) {
        case "written":
          credentialsGood = true;
          metrics.rotations.inc();
          metrics.lastSuccess.setToCurrentTime({ loop: "credentials" });
          log.info("credentials written", {
            action: "write",
            path: nodecredPaths.credentialsFile,
            object: `${secretRef.namespace}/${secretRef.name}`,
            resourceVersion: outcome.resourceVersion,
          });
          event(
            null,
            "Normal",
            "CredentialsUpdated",
            `credentials file updated from Secret ${secretRef.name} (resourceVersion ${outcome.resourceVersion})`,
          );
          break;
        case "unchanged":
          credentialsGood = true;
          metrics.lastSuccess.setToCurrentTime({ loop: "credentials" });
          break;
        case "missing":
          log.warn("Secret not found; keeping the current credentials file", {
            object: `${secretRef.namespace}/${secretRef.name}`,
          });
          event(
            `secret-missing`,
            "Warning",
            "SecretMissing",
            `Secret ${secretRef.namespace}/${secretRef.name} not found; the node keeps its last credentials`,
          );
          break;
        case "invalid":
          metrics.rejectedSecrets.inc();
          log.warn("Secret rejected; keeping the last good credentials", {
            object: `${secretRef.namespace}/${secretRef.name}`,
            resourceVersion: outcome.resourceVersion,
            problems: outcome.problems.map(formatProblem),
          });
          rejected(
            { kind: "Secret", name: secretRef.name, uid: outcome.uid },
            outcome.resourceVersion,
            "SecretRejected",
            `Secret ${secretRef.name} (resourceVersion ${outcome.resourceVersion}) rejected, last good credentials kept: ${summary(outcome.problems)}`,
          );
          break;
      }
    },
  });

  const configLoop = new ReconcileLoop({
    resyncMs: config.resyncMs,
    backoff: jitteredBackoff(1000, 60_000),
    onError: (err) => {
      metrics.reconciles.inc({ loop: "config", result: "error" });
      metrics.errors.inc({ source: "reconcile" });
      log.error("config sync failed", { error: errorText(err) });
    },
    reconcile: async () => {
      const outcome = await syncConfig({
        api,
        configMap: configMapRef,
        daemonSet: daemonSetRef,
        applied: () => appliedHash(config.appliedStatusFile),
      });
      metrics.reconciles.inc({ loop: "config", result: "ok" });
      switch (outcome.kind) {
        case "current":
          metrics.lastSuccess.setToCurrentTime({ loop: "config" });
          break;
        case "rolled-out":
          metrics.lastSuccess.setToCurrentTime({ loop: "config" });
          log.info("config change rolled out", {
            action: "patch",
            object: `${daemonSetRef.namespace}/${daemonSetRef.name}`,
            annotation: configHashAnnotation,
            hash: outcome.hash,
          });
          event(
            `rollout-${outcome.hash}`,
            "Normal",
            "ConfigRolloutStarted",
            `ConfigMap ${configMapRef.name} changed: DaemonSet ${daemonSetRef.name} rolls out config ${outcome.hash}`,
          );
          break;
        case "missing":
          log.warn("ConfigMap not found; nothing to roll out", {
            object: `${configMapRef.namespace}/${configMapRef.name}`,
          });
          break;
        case "invalid":
          metrics.rejectedConfigs.inc();
          log.warn("ConfigMap rejected; not rolled out", {
            object: `${configMapRef.namespace}/${configMapRef.name}`,
            resourceVersion: outcome.resourceVersion,
            problems: outcome.problems.map(formatProblem),
          });
          rejected(
            { kind: "ConfigMap", name: configMapRef.name, uid: outcome.uid },
            outcome.resourceVersion,
            "ConfigRejected",
            `ConfigMap ${configMapRef.name} (resourceVersion ${outcome.resourceVersion}) rejected, not rolled out: ${summary(outcome.problems)}`,
          );
          break;
      }
    },
  });

  const watches = [
    { kind: "secrets" as const, ref: secretRef, loop: credentialsLoop },
    { kind: "configmaps" as const, ref: configMapRef, loop: configLoop },
  ].map(({ kind, ref, loop }) =>
    keepWatching({
      api,
      kind,
      ref,
      backoff: jitteredBackoff(500, 30_000),
      onChange: () => {
        loop.markDirty();
      },
      onError: (err, retryInMs) => {
        metrics.errors.inc({ source: "watch" });
        log.warn("watch ended; restarting", { kind, error: errorText(err), retryInMs });
      },
    }),
  );
  credentialsLoop.start();
  configLoop.start();

  const server = await startStatusServer(
    config.listen,
    {
      healthy: () => null,
      ready: async () => {
        if (!credentialsGood) {
          return `credentials not synced yet (${lastCredentials?.kind ?? "no pass yet"})`;
        }
        const applied = await appliedHash(config.appliedStatusFile);
        metrics.appliedConfig.reset();
        if (applied !== null) metrics.appliedConfig.set({ hash: applied }, 1);
        if (config.appliedStatusFile !== null && applied === null) {
          return "no applied config recorded by the apply init container";
        }
        if (config.podConfigHash !== "" && applied !== null && applied !== config.podConfigHash) {
          return `node runs config ${applied}, this pod stands for ${config.podConfigHash}`;
        }
        if (!(await kubeletHealthy(config.kubeletHealthzUrl))) return "kubelet not healthy";
        return null;
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
    async stop(): Promise<void> {
      for (const w of watches) w.stop();
      await Promise.all([credentialsLoop.stop(), configLoop.stop()]);
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      log.info("sync stopped", { node: config.nodeName });
    },
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
