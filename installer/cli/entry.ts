import type { Config } from "./config.ts";
import { parseCommandLine } from "./command-line.ts";
import { logFailure } from "./failure.ts";
import { exitCodes } from "../core/exit-codes.ts";
import { jsonLogger, type Logger } from "../log.ts";
import { runSyncUntilSignalled } from "../sync/main.ts";

/** What an entry point does with `apply` and `uninstall`: null when its bundle has neither. */
export type ApplyOrUninstall = ((config: Config, log: Logger) => Promise<void>) | null;

const onlyRun = (): number => {
  process.stderr.write(
    "nodecred-sync: runs only `run` (apply and uninstall: nodecred-installer.mjs) (USAGE)\n",
  );
  return exitCodes.USAGE;
};

/**
 * The one dispatch of both entry points (installer/main.ts, every command; installer/sync-main.ts,
 * `run` only), given the process's arguments and environment (read there, and nowhere else):
 * argv → help, usage error, `run`, or `apply`/`uninstall`; a failure → one log line and its exit
 * code (installer/README.md).
 */
export async function entry(
  applyOrUninstall: ApplyOrUninstall,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const log = jsonLogger((line) => process.stderr.write(line), { component: "nodecred-installer" });
  // Without apply in the bundle, its flags are not parsed either: the usage error says where it is.
  if (
    applyOrUninstall === null &&
    argv[0] !== "run" &&
    argv.some((a) => a === "apply" || a === "uninstall")
  ) {
    return onlyRun();
  }
  try {
    const line = parseCommandLine(argv, process.arch, env);
    switch (line.kind) {
      case "help":
        process.stdout.write(line.text);
        return exitCodes.OK;
      case "usage-error":
        process.stderr.write(line.text);
        return exitCodes.USAGE;
      case "run":
        await runSyncUntilSignalled(line.config, log);
        return exitCodes.OK;
      case "apply-or-uninstall":
        if (applyOrUninstall === null) return onlyRun();
        await applyOrUninstall(line.config, log);
        return exitCodes.OK;
    }
  } catch (e) {
    return logFailure(log, e);
  }
}
