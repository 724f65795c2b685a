#!/usr/bin/env node
import { parseCommandLine, runCommand } from "./cli/commands.ts";
import { exitCodeFor, exitCodes, InstallerError, ProcessError } from "./errors.ts";
import { jsonLogger } from "./log.ts";
import { runSyncUntilSignalled } from "./sync/main.ts";

/** nodecred-installer: see installer/README.md for commands, exit codes and messages. */
async function main(): Promise<number> {
  const log = jsonLogger((line) => process.stderr.write(line), { component: "nodecred-installer" });
  try {
    const line = parseCommandLine(process.argv.slice(2), process.arch, process.env);
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
        await runCommand(line.config, log, (text) => process.stdout.write(text));
        return exitCodes.OK;
    }
  } catch (e) {
    const code = e instanceof InstallerError ? e.code : "INTERNAL";
    const fields: Record<string, string | number | null | readonly string[]> = { code };
    if (e instanceof InstallerError && e.problems.length > 0) {
      fields["problems"] = e.problems.map((p) =>
        p.path === "" ? p.message : `${p.path}: ${p.message}`,
      );
    }
    if (e instanceof ProcessError) {
      fields["argv"] = e.argv;
      fields["exitCode"] = e.exitCode;
      fields["stderrTail"] = e.stderrTail;
    }
    const cause = e instanceof Error && e.cause !== undefined ? e.cause : null;
    if (cause !== null)
      fields["cause"] = cause instanceof Error ? cause.message : JSON.stringify(cause);
    // With problems, the message is a headline ending in ":" and the list, which is in `problems`.
    const message =
      e instanceof InstallerError && e.problems.length > 0
        ? (e.message.split("\n")[0] ?? "").replace(/:$/, "")
        : e instanceof Error
          ? e.message
          : String(e);
    log.error(message, fields);
    return exitCodeFor(e);
  }
}

process.exitCode = await main();
