import { kubeletConfigHash, type AppliedStatus } from "../core/kubelet/kubelet-spec.ts";
import { describePlan } from "../core/plan/plan-diff.ts";
import { InstallerError } from "../errors.ts";
import { applyNode, type ApplyOutcome } from "../host/apply.ts";
import { hostPaths, type HostPaths } from "../host/host-paths.ts";
import { uninstallNode } from "../host/uninstall.ts";
import type { Logger } from "../log.ts";
import {
  detectKubeletVersion,
  systemdKubeletControl,
  type KubeletControl,
} from "../process/kubelet-control.ts";
import { readConfigMap, readSecret } from "./inputs.ts";
import { readInputFile, type ReadLimit } from "./read-input.ts";
import { followConfigMap } from "./follow-config.ts";
import { reportApply } from "./report.ts";
import { ensureOwner, writeFileAtomic } from "../host/atomic-write.ts";
import { nodecredPaths } from "../core/node/flavour.ts";
import type { Config } from "./config.ts";

export { parseCommandLine, usage, usageOf, type CommandLine } from "./command-line.ts";

/**
 * Apply and uninstall wired to the host shell, printing the result (JSON, or the diff for
 * --dry-run). The command line itself: ./command-line.ts.
 */

const encoder = new TextEncoder();

/** The provider executable (~2 MB) is read like any input: a regular file, bounded. */
const providerBinaryLimit: ReadLimit = {
  bytes: 64 * 1024 * 1024,
  why: "the provider binary is about 2 MB; anything this large is not it",
};

async function readInput(path: string, what: string): Promise<Uint8Array> {
  return readInputFile(path, what, providerBinaryLimit);
}

function control(config: Config): KubeletControl | null {
  if (config.restart === "none") return null;
  return systemdKubeletControl({
    healthzUrl: config.healthzUrl,
    healthTimeoutMs: config.healthTimeoutMs,
    restartTimeoutMs: config.restartTimeoutMs,
    pollIntervalMs: 500,
    healthStableMs: config.healthStableMs,
    maxExits: config.healthMaxExits,
  });
}

export async function runCommand(
  config: Config,
  log: Logger,
  out: (text: string) => void,
): Promise<void> {
  const paths = hostPaths(config.hostRoot);
  if (config.command === "uninstall") {
    const r = await uninstallNode({
      paths,
      control: control(config),
      dryRun: config.dryRun,
      log,
      lockTimeoutMs: config.lockTimeoutMs,
    });
    if (config.dryRun) out(r.plan === null ? "nothing installed\n" : describePlan(r.plan));
    else
      out(
        `${JSON.stringify({ command: "uninstall", changed: r.changed, restarted: r.restarted, restartPending: r.restartPending })}\n`,
      );
    return;
  }
  if (config.events === null || config.dryRun) {
    await applyCommand(config, paths, log, out);
    return;
  }
  const target = config.events;
  let outcome: ApplyOutcome;
  try {
    outcome = await applyCommand(config, paths, log, out);
  } catch (error) {
    await reportApply(target, { error }, log);
    if (config.expectConfigHash !== null)
      await followConfigMap(target, config.expectConfigHash, log);
    throw error;
  }
  await reportApply(target, { outcome }, log);
}

async function applyCommand(
  config: Config,
  paths: HostPaths,
  log: Logger,
  out: (text: string) => void,
): Promise<ApplyOutcome> {
  if (config.configMap === null || config.secret === null) {
    throw new InstallerError("USAGE", "apply needs a ConfigMap and a Secret");
  }
  const settings = await readConfigMap(config.configMap);
  const credentials = await readSecret(config.secret);
  const problems = [
    ...(settings.ok ? [] : settings.problems),
    ...(credentials.ok ? [] : credentials.problems),
  ];
  if (!settings.ok || !credentials.ok) {
    throw new InstallerError("INVALID_INPUT", "invalid ConfigMap or Secret; nothing changed", {
      problems,
    });
  }
  if (config.expectConfigHash !== null) {
    const hash = kubeletConfigHash(settings.value);
    if (hash !== config.expectConfigHash) {
      // The pod was created for another kubelet config than the volume holds (the kubelet
      // refreshes ConfigMap volumes with a delay): applying it would make this pod stand for the
      // wrong one. Fail before any change; the init container is retried.
      throw new InstallerError(
        "CONFIG_NOT_CURRENT",
        `the mounted ConfigMap has kubelet config hash ${hash}, this pod was created for ${config.expectConfigHash}; nothing changed`,
      );
    }
  }
  const providerBinary = await readInput(config.providerBinary, "provider binary");
  const r = await applyNode({
    paths,
    settings: settings.value,
    credentials: credentials.value,
    providerBinary,
    flavour: config.flavour,
    kubeletVersion: async (layout) => {
      if (config.kubeletVersion !== null) return config.kubeletVersion;
      if (config.restart === "none") return undefined; // no access to the host's processes
      return detectKubeletVersion(layout.versionCommand);
    },
    control: control(config),
    dryRun: config.dryRun,
    log,
    retryFailed: config.retryFailed,
    lockTimeoutMs: config.lockTimeoutMs,
  });
  if (config.dryRun) {
    out(describePlan(r.plan));
    return r;
  }
  if (config.credentialsOwner !== null) {
    // The sync container runs as this user and rewrites the file: it must own the directory.
    const { uid, gid } = config.credentialsOwner;
    for (const p of [nodecredPaths.credentialsDir, nodecredPaths.policyFile]) {
      if (await ensureOwner(paths.resolve(p), uid, gid)) {
        log.info("owner set", { action: "chown", path: p, owner: `${String(uid)}:${String(gid)}` });
      }
    }
  }
  if (config.statusFile !== null) {
    // What this node's kubelet now runs, for the sync container (an emptyDir of the pod): its
    // readiness compares the hash, its restart reasons compare the spec.
    const status: AppliedStatus = {
      kubeletConfigHash: r.kubeletConfigHash,
      kubelet: r.desired.kubelet,
      flavour: r.flavour,
      restarted: r.restarted,
    };
    await writeFileAtomic(config.statusFile, encoder.encode(`${JSON.stringify(status)}\n`), 0o644);
  }
  out(
    `${JSON.stringify({
      command: "apply",
      flavour: r.flavour,
      kubeletConfigHash: r.kubeletConfigHash,
      changed: r.changed,
      restarted: r.restarted,
      restartPending: r.restartPending,
    })}\n`,
  );
  return r;
}
