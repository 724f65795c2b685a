import { exitCodes, type ErrorCode } from "./core/exit-codes.ts";
import { formatProblem, type Problem } from "./core/problems.ts";

/**
 * Every failure the installer reports carries a stable `code` (documented with its exit code
 * in installer/README.md) and, where there is one, the underlying `cause`. Messages never
 * contain credentials: the only place passwords exist is the credentials file's bytes, which
 * are never formatted into a message.
 */

export class InstallerError extends Error {
  readonly code: ErrorCode;
  readonly problems: readonly Problem[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; problems?: readonly Problem[] } = {},
  ) {
    const list = options.problems ?? [];
    super(
      list.length === 0
        ? message
        : `${message}:\n${list.map((p) => `  - ${formatProblem(p)}`).join("\n")}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "InstallerError";
    this.code = code;
    this.problems = list;
  }
}

/** A command that failed: what ran, how it ended, and the end of what it said. */
export class ProcessError extends InstallerError {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stderrTail: string;

  constructor(
    message: string,
    details: { argv: readonly string[]; exitCode: number | null; stderr: string; cause?: unknown },
  ) {
    const tail = details.stderr.slice(-2000);
    super(
      "HOST_IO",
      `${message}: ${details.argv.join(" ")} exited ${details.exitCode === null ? "abnormally" : String(details.exitCode)}${tail === "" ? "" : `: ${tail.trim()}`}`,
      details.cause === undefined ? {} : { cause: details.cause },
    );
    this.name = "ProcessError";
    this.argv = details.argv;
    this.exitCode = details.exitCode;
    this.stderrTail = tail;
  }
}

export function exitCodeFor(err: unknown): number {
  return err instanceof InstallerError ? exitCodes[err.code] : exitCodes.INTERNAL;
}

/** What an error says, for a log field or a message (never more than its message). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
