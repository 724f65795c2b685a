import type { SyncConfig } from "../sync/run.ts";
import { formatProblem } from "../core/problems.ts";
import { InstallerError } from "../errors.ts";
import { applyUsage, parseConfig, uninstallUsage, type Config } from "./config.ts";
import { parseSyncConfig, runUsage } from "./sync-config.ts";

/**
 * The command line → what to do (`parseCommandLine`: help, a usage error, or a parsed command).
 * Parsing only, nothing of the host shell: both bundles use it (installer/main.ts, every command;
 * installer/sync-main.ts, `run` only, which must not load apply's modules).
 */

const commandUsage = { apply: applyUsage, uninstall: uninstallUsage, run: runUsage } as const;
type CommandName = keyof typeof commandUsage;

function isCommandName(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(commandUsage, name);
}

/** Every command (`nodecred-installer help`, `--help`). */
export const usage = `usage:
${applyUsage}${uninstallUsage}${runUsage}  nodecred-installer help [COMMAND]

commands:
  apply      install or update nodecred on this node (the DaemonSet's init container)
  uninstall  remove what apply installed, restoring what it changed
  run        keep this node's policy file in step with the Secret and the ConfigMap, roll out
             kubelet config changes (the DaemonSet's sync container)
  help       this text; with a COMMAND (or COMMAND --help), that command's usage
Exit codes and messages: installer/README.md.
`;

/** One command's usage (`nodecred-installer help COMMAND`, `COMMAND --help`, a usage error). */
export function usageOf(command: CommandName): string {
  return `usage:
${commandUsage[command]}`;
}

/** What the command line asks for; usage errors are values too, so main.ts only prints them. */
export type CommandLine =
  /** Print `text` on stdout, exit 0. */
  | { readonly kind: "help"; readonly text: string }
  /** Print `text` (one line naming every problem, then the command's usage) on stderr, exit 2. */
  | { readonly kind: "usage-error"; readonly text: string }
  | { readonly kind: "run"; readonly config: SyncConfig }
  | { readonly kind: "apply-or-uninstall"; readonly config: Config };

function usageError(command: CommandName | null, problems: readonly string[]): CommandLine {
  const prefix = command === null ? "nodecred-installer" : `nodecred-installer ${command}`;
  return {
    kind: "usage-error",
    text: `${prefix}: ${problems.join("; ")} (USAGE)\n${command === null ? usage : usageOf(command)}`,
  };
}

function problemsOf(e: InstallerError): string[] {
  return e.problems.length > 0
    ? e.problems.map(formatProblem)
    : [e.message.split("\n")[0] ?? e.message];
}

/**
 * The whole command line: `help [COMMAND]`, `--help`/`-h` anywhere (before `--`) with or without
 * a command, `run ...`, `apply ...`, `uninstall ...`. A usage problem names every problem on one
 * line and shows the usage of the command at hand.
 */
export function parseCommandLine(
  argv: readonly string[],
  arch: string,
  env: Readonly<Record<string, string | undefined>>,
): CommandLine {
  const end = argv.indexOf("--");
  const flags = end === -1 ? argv : argv.slice(0, end);
  const [first, ...rest] = argv;
  if (first === "help") {
    const [name, ...extra] = rest;
    if (name === undefined) return { kind: "help", text: usage };
    if (!isCommandName(name)) return usageError(null, [`unknown command ${JSON.stringify(name)}`]);
    if (extra.length > 0) return usageError(null, [`unexpected arguments: ${extra.join(" ")}`]);
    return { kind: "help", text: usageOf(name) };
  }
  if (first === undefined) return usageError(null, ["no command given"]);
  // The command comes first; apply and uninstall also take it after their flags.
  const command = isCommandName(first)
    ? first
    : first.startsWith("-")
      ? (flags.find((a) => a === "apply" || a === "uninstall") ?? null)
      : undefined;
  if (command === undefined) return usageError(null, [`unknown command ${JSON.stringify(first)}`]);
  if (flags.includes("--help") || flags.includes("-h")) {
    return { kind: "help", text: command === null ? usage : usageOf(command) };
  }
  try {
    if (command === "run") return { kind: "run", config: parseSyncConfig(rest, env) };
    return { kind: "apply-or-uninstall", config: parseConfig(argv, arch, env) };
  } catch (e) {
    if (e instanceof InstallerError && e.code === "USAGE")
      return usageError(command, problemsOf(e));
    throw e;
  }
}
