import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { isFlavourName, type FlavourName } from "../core/node/flavour.ts";
import { defaultMaxExits } from "../core/rollout/health-window.ts";
import { parseKubeletVersion, type KubeletVersion } from "../core/kubelet/kubelet-version.ts";
import type { Problem } from "../core/problems.ts";
import { InstallerError } from "../errors.ts";
import { defaultLockTimeoutMs } from "../host/node-lock.ts";

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

/** One problem per flag: `--host-root` given without a value is not also "required". */
export function firstPerFlag(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    if (!p.path.startsWith("-")) return true;
    if (seen.has(p.path)) return false;
    seen.add(p.path);
    return true;
  });
}

/**
 * Checks argv against the declared flags, collecting every problem: an unknown flag, a flag
 * without its value (last, or followed by another flag: a value starting with `-` is written
 * `--flag=-value`), a value given to a switch. Returns argv without the offending flags, which
 * `parseArgs` (strict) then reads as usual, so the remaining problems are found too.
 */
export function checkFlags(
  argv: readonly string[],
  options: ParseArgsOptionsConfig,
  problems: Problem[],
): string[] {
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const drop = new Set<number>();
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    const spec = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    // A separate value (`--flag value`) sits right after the flag.
    const withValue = t.value !== undefined && !t.inlineValue;
    if (spec === undefined) {
      problems.push({ path: t.rawName, message: "unknown flag" });
      drop.add(t.index);
      if (withValue) drop.add(t.index + 1);
    } else if (spec.type === "boolean" && t.value !== undefined) {
      problems.push({ path: t.rawName, message: "takes no value" });
      drop.add(t.index);
    } else if (
      spec.type === "string" &&
      (t.value === undefined || (withValue && t.value.startsWith("-") && t.value !== "-"))
    ) {
      // The argument after it, if any, is a flag of its own: kept.
      problems.push({ path: t.rawName, message: "needs a value" });
      drop.add(t.index);
    }
  }
  return argv.filter((_, i) => !drop.has(i));
}

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

export function parseConfig(
  argv: readonly string[],
  arch: string,
  env: Readonly<Record<string, string | undefined>> = {},
): Config {
  const problems: Problem[] = [];
  let parsed;
  try {
    parsed = parseArgs({
      args: checkFlags(argv, applyFlags, problems),
      allowPositionals: true,
      strict: true,
      options: applyFlags,
    });
  } catch (e) {
    throw new InstallerError("USAGE", (e as Error).message.split("\n")[0] ?? "", { cause: e });
  }
  const v = parsed.values;
  const [command, ...extra] = parsed.positionals;
  if (command !== "apply" && command !== "uninstall") {
    problems.push({
      path: "command",
      message: `expected apply or uninstall, got ${JSON.stringify(command ?? "")}`,
    });
  }
  if (extra.length > 0)
    problems.push({ path: "command", message: `unexpected arguments: ${extra.join(" ")}` });
  if (v["host-root"] === undefined) problems.push({ path: "--host-root", message: "required" });
  const source = (
    file: string | undefined,
    dir: string | undefined,
    name: "configmap" | "secret",
  ): InputSource | null => {
    if (file !== undefined && dir !== undefined) {
      problems.push({ path: `--${name}`, message: `give --${name} or --${name}-dir, not both` });
    }
    if (file !== undefined) return { kind: "file", path: file };
    if (dir !== undefined) return { kind: "dir", path: dir };
    if (command === "apply") {
      problems.push({ path: `--${name}`, message: `required (or --${name}-dir)` });
    }
    return null;
  };
  let credentialsOwner: { uid: number; gid: number } | null = null;
  if (v["credentials-owner"] !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(v["credentials-owner"]);
    if (m === null) problems.push({ path: "--credentials-owner", message: "expected UID:GID" });
    else credentialsOwner = { uid: Number(m[1]), gid: Number(m[2]) };
  }
  const configMap = source(v.configmap, v["configmap-dir"], "configmap");
  const secret = source(v.secret, v["secret-dir"], "secret");
  let events: EventTarget | null = null;
  if (v.events) {
    const need = (name: string): string => {
      const value = env[name];
      if (value === undefined || value === "") {
        problems.push({ path: "--events", message: `needs the ${name} environment variable` });
      }
      return value ?? "";
    };
    events = {
      namespace: need("POD_NAMESPACE"),
      pod: need("POD_NAME"),
      node: need("NODE_NAME"),
      kubeconfig: v.kubeconfig ?? null,
      configMapName: v["configmap-name"],
      daemonSetName: v["daemonset-name"],
    };
  }
  if (v.restart !== "none" && v.restart !== "systemd") {
    problems.push({
      path: "--restart",
      message: `expected none or systemd, got ${JSON.stringify(v.restart)}`,
    });
  }
  let flavour: FlavourName | null = null;
  if (v.flavour !== undefined) {
    if (isFlavourName(v.flavour)) flavour = v.flavour;
    else
      problems.push({ path: "--flavour", message: `unknown flavour ${JSON.stringify(v.flavour)}` });
  }
  let kubeletVersion: KubeletVersion | null = null;
  if (v["kubelet-version"] !== undefined) {
    kubeletVersion = parseKubeletVersion(v["kubelet-version"]);
    if (kubeletVersion === null)
      problems.push({ path: "--kubelet-version", message: "expected vMAJOR.MINOR[.PATCH]" });
  }
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
  try {
    new URL(v["kubelet-healthz-url"]);
  } catch {
    problems.push({ path: "--kubelet-healthz-url", message: "not a URL" });
  }
  if (problems.length > 0)
    throw new InstallerError("USAGE", "invalid command line", { problems: firstPerFlag(problems) });
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
    restart: v.restart as "none" | "systemd",
    dryRun: v["dry-run"],
    flavour,
    kubeletVersion,
    providerBinary: v["provider-binary"] ?? defaultProviderBinary(arch),
    healthzUrl: v["kubelet-healthz-url"],
    healthTimeoutMs,
    restartTimeoutMs,
    healthStableMs,
    healthMaxExits,
    retryFailed: v["retry-failed"],
    lockTimeoutMs,
  });
}
