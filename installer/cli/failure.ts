import { exitCodeFor, InstallerError, ProcessError } from "../errors.ts";
import type { Logger } from "../log.ts";

/**
 * A command that failed: one log line (its code, the problems, what process failed and why) and
 * the exit code (installer/README.md). Both entry points use it: installer/main.ts and
 * installer/sync-main.ts.
 */
export function logFailure(log: Logger, e: unknown): number {
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
