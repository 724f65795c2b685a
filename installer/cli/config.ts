import type { ParseArgsOptionsConfig } from "node:util";
import { isFlavourName, type FlavourName } from "../core/node/flavour.ts";
import { defaultMaxExits } from "../core/rollout/health-window.ts";
import { parseKubeletVersion, type KubeletVersion } from "../core/kubelet/kubelet-version.ts";
import type { Problem } from "../core/problems.ts";
import { defaultLockTimeoutMs } from "../host/node-lock.ts";
import { readFlags, refuseProblems } from "./flags.ts";

/**
 * Command line → one frozen, typed object, with every problem listed at once. Nothing else in
 * the installer reads argv or the environment.
 */

export type Command = "apply" | "uninstall";

export interface Config {
  readonly command: Command;
  readonly hostRoot: string;
  /** The ConfigMap: a manifest file (`--configmap`) or a mounted volume (`--configmap-dir`). */
  readonly configMap: InputSource | null;
  /** The Secret: a manifest file (`--secret`) or a mounted volume (`--secret-dir`). */
  readonly secret: InputSource | null;
  /** Where apply records the config hash it applied (the sync container's readiness reads it). */
  readonly statusFile: string | null;
  /** The config hash this pod was created for; a different mounted ConfigMap is not applied. */
  readonly expectConfigHash: string | null;
  /** Record Events about this apply on the pod and node (in-cluster credentials). */
  readonly events: EventTarget | null;
  /** Owner given to the credentials directory and file, so the sync container needs no root. */
  readonly credentialsOwner: { readonly uid: number; readonly gid: number } | null;
  readonly restart: "none" | "systemd";
  readonly dryRun: boolean;
  readonly flavour: FlavourName | null;
  readonly kubeletVersion: KubeletVersion | null;
  readonly providerBinary: string;
  readonly healthzUrl: string;
  readonly healthTimeoutMs: number;
  readonly restartTimeoutMs: number;
  /** How long the kubelet must stay active and healthy, continuously, to count as healthy. */
  readonly healthStableMs: number;
  /** Give up on the kubelet once it has exited this many times after the restart; 0: never. */
  readonly healthMaxExits: number;
  /** Attempt a config that already failed on this node (see the failure record in state.json). */
  readonly retryFailed: boolean;
  /** How long to wait for another installer holding the node lock before exiting 9 (LOCKED). */
  readonly lockTimeoutMs: number;
}

export interface InputSource {
  readonly kind: "file" | "dir";
  readonly path: string;
}

export interface EventTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly node: string;
  /** null: the pod's in-cluster ServiceAccount credentials. */
  readonly kubeconfig: string | null;
  /** Our ConfigMap and DaemonSet in `namespace` (a failed apply follows the ConfigMap, see follow-config.ts). */
  readonly configMapName: string;
  readonly daemonSetName: string;
}

export const applyUsage = `  nodecred-installer apply --host-root DIR (--configmap FILE | --configmap-dir DIR)
      (--secret FILE | --secret-dir DIR) [--status-file FILE] [--expect-config-hash HASH]
      [--events [--kubeconfig FILE] [--configmap-name NAME] [--daemonset-name NAME]]
      [--credentials-owner UID:GID] [--restart none|systemd] [--dry-run] [--flavour NAME]
      [--kubelet-version vX.Y.Z] [--provider-binary PATH] [--kubelet-healthz-url URL] [--health-timeout SECONDS]
      [--restart-timeout SECONDS] [--health-stable-seconds SECONDS] [--health-max-exits N]
      [--retry-failed] [--lock-timeout SECONDS]
`;
export const uninstallUsage = `  nodecred-installer uninstall --host-root DIR [--restart none|systemd] [--dry-run]
      [--kubelet-healthz-url URL] [--health-timeout SECONDS] [--restart-timeout SECONDS]
      [--health-stable-seconds SECONDS] [--health-max-exits N] [--lock-timeout SECONDS]
`;

function goArch(arch: string): string {
  return arch === "x64" ? "amd64" : arch;
}

/** Next to the installer in the image: /opt/nodecred/bin/nodecred-provider-linux-<arch>. */
export function defaultProviderBinary(arch: string): string {
  return `/opt/nodecred/bin/nodecred-provider-linux-${goArch(arch)}`;
}

const applyFlags = {
  "host-root": { type: "string" },
  configmap: { type: "string" },
  secret: { type: "string" },
  "configmap-dir": { type: "string" },
  "secret-dir": { type: "string" },
  "status-file": { type: "string" },
  "expect-config-hash": { type: "string" },
  events: { type: "boolean", default: false },
  kubeconfig: { type: "string" },
  "configmap-name": { type: "string", default: "nodecred-config" },
  "daemonset-name": { type: "string", default: "nodecred" },
  "credentials-owner": { type: "string" },
  restart: { type: "string", default: "systemd" },
  "dry-run": { type: "boolean", default: false },
  flavour: { type: "string" },
  "kubelet-version": { type: "string" },
  "provider-binary": { type: "string" },
  "kubelet-healthz-url": { type: "string", default: "http://127.0.0.1:10248/healthz" },
  "health-timeout": { type: "string", default: "120" },
  "restart-timeout": { type: "string", default: "90" },
  "health-stable-seconds": { type: "string", default: "10" },
  "health-max-exits": { type: "string", default: String(defaultMaxExits) },
  "retry-failed": { type: "boolean", default: false },
  "lock-timeout": { type: "string", default: String(defaultLockTimeoutMs / 1000) },
} as const satisfies ParseArgsOptionsConfig;

type ApplyFlags = ReturnType<typeof readFlags<typeof applyFlags>>["values"];

export function parseConfig(
  argv: readonly string[],
  arch: string,
  env: Readonly<Record<string, string | undefined>> = {},
): Config {
  const problems: Problem[] = [];
  const parsed = readFlags(argv, applyFlags, problems);
  const v = parsed.values;
  const command = commandOf(parsed.positionals, problems);
  if (v["host-root"] === undefined) problems.push({ path: "--host-root", message: "required" });
  const credentialsOwner = credentialsOwnerOf(v["credentials-owner"], problems);
  const configMap = inputSource(v.configmap, v["configmap-dir"], "configmap", command, problems);
  const secret = inputSource(v.secret, v["secret-dir"], "secret", command, problems);
  const events = v.events ? eventTargetOf(v, env, problems) : null;
  const restart = restartOf(v.restart, problems);
  const flavour = flavourOf(v.flavour, problems);
  const kubeletVersion = kubeletVersionOf(v["kubelet-version"], problems);
  const timings = timingsOf(v, problems);
  checkHealthzUrl(v["kubelet-healthz-url"], problems);
  refuseProblems(problems);
  return Object.freeze({
    command: command as Command,
    hostRoot: v["host-root"] ?? "",
    configMap,
    secret,
    statusFile: v["status-file"] ?? null,
    // Empty when the pod template has no hash yet (first install): nothing to compare with.
    expectConfigHash:
      v["expect-config-hash"] === undefined || v["expect-config-hash"] === ""
        ? null
        : v["expect-config-hash"],
    events,
    credentialsOwner,
    restart,
    dryRun: v["dry-run"],
    flavour,
    kubeletVersion,
    providerBinary: v["provider-binary"] ?? defaultProviderBinary(arch),
    healthzUrl: v["kubelet-healthz-url"],
    healthTimeoutMs: timings.healthTimeoutMs,
    restartTimeoutMs: timings.restartTimeoutMs,
    healthStableMs: timings.healthStableMs,
    healthMaxExits: timings.healthMaxExits,
    retryFailed: v["retry-failed"],
    lockTimeoutMs: timings.lockTimeoutMs,
  });
}

/** The command word (apply or uninstall, wherever it stands among the flags), and nothing more. */
function commandOf(positionals: readonly string[], problems: Problem[]): string | undefined {
  const [command, ...extra] = positionals;
  if (command !== "apply" && command !== "uninstall") {
    problems.push({
      path: "command",
      message: `expected apply or uninstall, got ${JSON.stringify(command ?? "")}`,
    });
  }
  if (extra.length > 0)
    problems.push({ path: "command", message: `unexpected arguments: ${extra.join(" ")}` });
  return command;
}

/** The ConfigMap or Secret: a file or a directory, one of them (apply needs it, uninstall not). */
function inputSource(
  file: string | undefined,
  dir: string | undefined,
  name: "configmap" | "secret",
  command: string | undefined,
  problems: Problem[],
): InputSource | null {
  if (file !== undefined && dir !== undefined) {
    problems.push({ path: `--${name}`, message: `give --${name} or --${name}-dir, not both` });
  }
  if (file !== undefined) return { kind: "file", path: file };
  if (dir !== undefined) return { kind: "dir", path: dir };
  if (command === "apply") {
    problems.push({ path: `--${name}`, message: `required (or --${name}-dir)` });
  }
  return null;
}

function credentialsOwnerOf(
  text: string | undefined,
  problems: Problem[],
): { uid: number; gid: number } | null {
  if (text === undefined) return null;
  const m = /^(\d+):(\d+)$/.exec(text);
  if (m === null) {
    problems.push({ path: "--credentials-owner", message: "expected UID:GID" });
    return null;
  }
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

/** `--events`: the pod and node from the downward API's environment, the objects from flags. */
function eventTargetOf(
  v: ApplyFlags,
  env: Readonly<Record<string, string | undefined>>,
  problems: Problem[],
): EventTarget {
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === "") {
      problems.push({ path: "--events", message: `needs the ${name} environment variable` });
    }
    return value ?? "";
  };
  return {
    namespace: need("POD_NAMESPACE"),
    pod: need("POD_NAME"),
    node: need("NODE_NAME"),
    kubeconfig: v.kubeconfig ?? null,
    configMapName: v["configmap-name"],
    daemonSetName: v["daemonset-name"],
  };
}

function restartOf(text: string, problems: Problem[]): "none" | "systemd" {
  if (text !== "none" && text !== "systemd") {
    problems.push({
      path: "--restart",
      message: `expected none or systemd, got ${JSON.stringify(text)}`,
    });
  }
  return text as "none" | "systemd";
}

function flavourOf(text: string | undefined, problems: Problem[]): FlavourName | null {
  if (text === undefined) return null;
  if (isFlavourName(text)) return text;
  problems.push({ path: "--flavour", message: `unknown flavour ${JSON.stringify(text)}` });
  return null;
}

function kubeletVersionOf(text: string | undefined, problems: Problem[]): KubeletVersion | null {
  if (text === undefined) return null;
  const version = parseKubeletVersion(text);
  if (version === null)
    problems.push({ path: "--kubelet-version", message: "expected vMAJOR.MINOR[.PATCH]" });
  return version;
}

/** The health check's and the lock's timings: seconds on the command line, ms in the config. */
function timingsOf(
  v: ApplyFlags,
  problems: Problem[],
): Pick<
  Config,
  "healthTimeoutMs" | "restartTimeoutMs" | "healthStableMs" | "lockTimeoutMs" | "healthMaxExits"
> {
  const seconds = (
    name: "health-timeout" | "restart-timeout" | "health-stable-seconds" | "lock-timeout",
  ): number => {
    const n = Number(v[name]);
    if (!Number.isFinite(n) || n <= 0)
      problems.push({ path: `--${name}`, message: "expected a positive number of seconds" });
    return Math.round(n * 1000);
  };
  const healthTimeoutMs = seconds("health-timeout");
  const restartTimeoutMs = seconds("restart-timeout");
  const healthStableMs = seconds("health-stable-seconds");
  const lockTimeoutMs = seconds("lock-timeout");
  const healthMaxExits = Number(v["health-max-exits"]);
  if (!/^\d+$/.test(v["health-max-exits"]))
    problems.push({ path: "--health-max-exits", message: "expected a whole number (0: never)" });
  return { healthTimeoutMs, restartTimeoutMs, healthStableMs, lockTimeoutMs, healthMaxExits };
}

function checkHealthzUrl(text: string, problems: Problem[]): void {
  try {
    new URL(text);
  } catch {
    problems.push({ path: "--kubelet-healthz-url", message: "not a URL" });
  }
}
