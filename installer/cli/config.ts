import { parseArgs } from "node:util";
import { isFlavourName, type FlavourName } from "../core/flavour.ts";
import { parseKubeletVersion, type KubeletVersion } from "../core/kubelet-version.ts";
import type { Problem } from "../core/problems.ts";
import { InstallerError } from "../errors.ts";

/**
 * Command line → one frozen, typed object, with every problem listed at once. Nothing else in
 * the installer reads argv or the environment.
 */

export type Command = "apply" | "uninstall";

export interface Config {
  readonly command: Command;
  readonly hostRoot: string;
  readonly configMapFile: string | null;
  readonly secretFile: string | null;
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
  /** Attempt a config that already failed on this node (see the failure record in state.json). */
  readonly retryFailed: boolean;
}

export const usage = `usage:
  nodecred-installer apply --host-root DIR --configmap FILE --secret FILE
      [--restart none|systemd] [--dry-run] [--flavour NAME] [--kubelet-version vX.Y.Z]
      [--provider-binary PATH] [--kubelet-healthz-url URL] [--health-timeout SECONDS]
      [--restart-timeout SECONDS] [--health-stable-seconds SECONDS] [--retry-failed]
  nodecred-installer uninstall --host-root DIR [--restart none|systemd] [--dry-run]
      [--kubelet-healthz-url URL] [--health-timeout SECONDS] [--restart-timeout SECONDS]
      [--health-stable-seconds SECONDS]
`;

function goArch(arch: string): string {
  return arch === "x64" ? "amd64" : arch;
}

/** Next to the installer in the image: /opt/nodecred/bin/nodecred-provider-linux-<arch>. */
export function defaultProviderBinary(arch: string): string {
  return `/opt/nodecred/bin/nodecred-provider-linux-${goArch(arch)}`;
}

export function parseConfig(argv: readonly string[], arch: string): Config {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        "host-root": { type: "string" },
        configmap: { type: "string" },
        secret: { type: "string" },
        restart: { type: "string", default: "systemd" },
        "dry-run": { type: "boolean", default: false },
        flavour: { type: "string" },
        "kubelet-version": { type: "string" },
        "provider-binary": { type: "string" },
        "kubelet-healthz-url": { type: "string", default: "http://127.0.0.1:10248/healthz" },
        "health-timeout": { type: "string", default: "120" },
        "restart-timeout": { type: "string", default: "90" },
        "health-stable-seconds": { type: "string", default: "10" },
        "retry-failed": { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    throw new InstallerError("USAGE", `${(e as Error).message}\n${usage}`, { cause: e });
  }
  const v = parsed.values;
  const problems: Problem[] = [];
  const [command, ...extra] = parsed.positionals;
  if (v.help) throw new InstallerError("USAGE", usage);
  if (command !== "apply" && command !== "uninstall") {
    problems.push({
      path: "command",
      message: `expected apply or uninstall, got ${JSON.stringify(command ?? "")}`,
    });
  }
  if (extra.length > 0)
    problems.push({ path: "command", message: `unexpected arguments: ${extra.join(" ")}` });
  if (v["host-root"] === undefined) problems.push({ path: "--host-root", message: "required" });
  if (command === "apply") {
    if (v.configmap === undefined) problems.push({ path: "--configmap", message: "required" });
    if (v.secret === undefined) problems.push({ path: "--secret", message: "required" });
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
    name: "health-timeout" | "restart-timeout" | "health-stable-seconds",
  ): number => {
    const n = Number(v[name]);
    if (!Number.isFinite(n) || n <= 0)
      problems.push({ path: `--${name}`, message: "expected a positive number of seconds" });
    return Math.round(n * 1000);
  };
  const healthTimeoutMs = seconds("health-timeout");
  const restartTimeoutMs = seconds("restart-timeout");
  const healthStableMs = seconds("health-stable-seconds");
  try {
    new URL(v["kubelet-healthz-url"]);
  } catch {
    problems.push({ path: "--kubelet-healthz-url", message: "not a URL" });
  }
  if (problems.length > 0)
    throw new InstallerError("USAGE", `invalid command line\n${usage}`, { problems });
  return Object.freeze({
    command: command as Command,
    hostRoot: v["host-root"] ?? "",
    configMapFile: v.configmap ?? null,
    secretFile: v.secret ?? null,
    restart: v.restart as "none" | "systemd",
    dryRun: v["dry-run"],
    flavour,
    kubeletVersion,
    providerBinary: v["provider-binary"] ?? defaultProviderBinary(arch),
    healthzUrl: v["kubelet-healthz-url"],
    healthTimeoutMs,
    restartTimeoutMs,
    healthStableMs,
    retryFailed: v["retry-failed"],
  });
}
