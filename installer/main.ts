#!/usr/bin/env node
import { parseConfig } from "./cli/config.ts";
import { runCommand } from "./cli/commands.ts";
import { parseSyncConfig } from "./cli/sync-config.ts";
import { exitCodeFor, InstallerError, ProcessError } from "./errors.ts";
import { jsonLogger } from "./log.ts";
import { runSyncUntilSignalled } from "./sync/main.ts";

/** nodecred-installer: see installer/README.md for commands, exit codes and messages. */
async function main(): Promise<number> {
  const log = jsonLogger((line) => process.stderr.write(line), { component: "nodecred-installer" });
  try {
    const argv = process.argv.slice(2);
    if (argv[0] === "run") {
      await runSyncUntilSignalled(parseSyncConfig(argv.slice(1), process.env), log);
      return 0;
    }
    const config = parseConfig(argv, process.arch, process.env);
    await runCommand(config, log, (text) => process.stdout.write(text));
    return 0;
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
    const message =
      e instanceof InstallerError && e.problems.length > 0
        ? (e.message.split("\n")[0] ?? "")
        : e instanceof Error
          ? e.message
          : String(e);
    log.error(message, fields);
    if (e instanceof InstallerError && e.code === "USAGE") process.stderr.write(`${e.message}\n`);
    return exitCodeFor(e);
  }
}

process.exitCode = await main();
