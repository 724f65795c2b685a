import { readFile } from "node:fs/promises";
import { settingsFromConfigMapText } from "../core/configmap.ts";
import { describePlan } from "../core/plan-diff.ts";
import { credentialsFileFromSecretText } from "../core/secret.ts";
import { InstallerError } from "../errors.ts";
import { applyNode } from "../host/apply.ts";
import { hostPaths } from "../host/host-paths.ts";
import { uninstallNode } from "../host/uninstall.ts";
import type { Logger } from "../log.ts";
import {
  detectKubeletVersion,
  systemdKubeletControl,
  type KubeletControl,
} from "../process/kubelet-control.ts";
import type { Config } from "./config.ts";

/** Wires the config to the host shell; prints the result (JSON, or the diff for --dry-run). */

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new InstallerError("INVALID_INPUT", `cannot read ${what} ${path}`, { cause: e });
  }
}

function control(config: Config): KubeletControl | null {
  if (config.restart === "none") return null;
  return systemdKubeletControl({
    healthzUrl: config.healthzUrl,
    healthTimeoutMs: config.healthTimeoutMs,
    restartTimeoutMs: config.restartTimeoutMs,
    pollIntervalMs: 500,
    healthStableMs: config.healthStableMs,
  });
}

export async function runCommand(
  config: Config,
  log: Logger,
  out: (text: string) => void,
): Promise<void> {
  const paths = hostPaths(config.hostRoot);
  if (config.command === "uninstall") {
    const r = await uninstallNode({ paths, control: control(config), dryRun: config.dryRun, log });
    if (config.dryRun) out(r.plan === null ? "nothing installed\n" : describePlan(r.plan));
    else
      out(
        `${JSON.stringify({ command: "uninstall", changed: r.changed, restarted: r.restarted, restartPending: r.restartPending })}\n`,
      );
    return;
  }
  const decoder = new TextDecoder();
  const cmText = decoder.decode(await readInput(config.configMapFile ?? "", "ConfigMap"));
  const secretText = decoder.decode(await readInput(config.secretFile ?? "", "Secret"));
  const settings = settingsFromConfigMapText(cmText);
  const credentials = credentialsFileFromSecretText(secretText);
  const problems = [
    ...(settings.ok ? [] : settings.problems),
    ...(credentials.ok ? [] : credentials.problems),
  ];
  if (!settings.ok || !credentials.ok) {
    throw new InstallerError("INVALID_INPUT", "invalid ConfigMap or Secret; nothing changed", {
      problems,
    });
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
  });
  if (config.dryRun) {
    out(describePlan(r.plan));
    return;
  }
  out(
    `${JSON.stringify({
      command: "apply",
      flavour: r.flavour,
      configHash: r.configHash,
      changed: r.changed,
      restarted: r.restarted,
      restartPending: r.restartPending,
    })}\n`,
  );
}
