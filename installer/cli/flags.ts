import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { Problem } from "../core/problems.ts";
import { InstallerError } from "../errors.ts";

/**
 * How every command reads its flags (config.ts for apply and uninstall, sync-config.ts for run):
 * node:util's parseArgs, strict, after a pass that turns each malformed flag into a problem, so a
 * command line's problems are all listed at once.
 */

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

type StrictParse<T extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: T }>
>;

/** argv's values and positionals; the flags `checkFlags` refused are problems, and left out. */
export function readFlags<T extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  flags: T,
  problems: Problem[],
): StrictParse<T> {
  try {
    return parseArgs({
      args: checkFlags(argv, flags, problems),
      allowPositionals: true,
      strict: true,
      options: flags,
    });
  } catch (e) {
    throw new InstallerError("USAGE", (e as Error).message.split("\n")[0] ?? "", { cause: e });
  }
}

/** Any problem at all: the command line is invalid, and every problem is named (one per flag). */
export function refuseProblems(problems: readonly Problem[]): void {
  if (problems.length > 0) {
    throw new InstallerError("USAGE", "invalid command line", {
      problems: firstPerFlag(problems),
    });
  }
}
