import type { Problem } from "./core/problems.ts";
import { formatProblem } from "./core/problems.ts";

/**
 * Every failure the installer reports carries a stable `code` (documented with its exit code
 * in installer/README.md) and, where there is one, the underlying `cause`. Messages never
 * contain credentials: the only place passwords exist is the credentials file's bytes, which
 * are never formatted into a message.
 */
export const exitCodes = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  INVALID_INPUT: 3,
  UNSUPPORTED_HOST: 4,
  HOST_IO: 5,
  ROLLED_BACK: 6,
  ROLLBACK_FAILED: 7,
  CONFIG_FAILED_BEFORE: 8,
  LOCKED: 9,
  CONFIG_NOT_CURRENT: 10,
} as const;

export type ErrorCode = Exclude<keyof typeof exitCodes, "OK">;

/**
 * What each exit code means, in a line (the long form: installer/README.md "Exit codes"; a test
 * keeps the two tables' codes and names equal). `kubectl nodecred status` prints it next to a
 * failed apply init container's exit code.
 */
export const exitMeanings: Readonly<Record<keyof typeof exitCodes, string>> = {
  OK: "done",
  INTERNAL: "bug in nodecred; a re-run is safe",
  USAGE: "bad command line",
  INVALID_INPUT:
    "ConfigMap or Secret invalid, or the resulting CredentialProviderConfig would make the kubelet exit; nothing changed",
  UNSUPPORTED_HOST:
    "host flavour refused or not detectable, or its provider wiring is half set; nothing changed",
  HOST_IO: "a host read, write or command failed; a re-run converges",
  ROLLED_BACK:
    "kubelet unhealthy after the restart; previous files restored and the kubelet healthy on them",
  ROLLBACK_FAILED:
    "kubelet unhealthy even after restoring the previous files; the node needs a human",
  CONFIG_FAILED_BEFORE:
    "this config was rolled back on this node before (exit 6); change the ConfigMap, or apply with --retry-failed",
  LOCKED: "another installer holds the node lock",
  CONFIG_NOT_CURRENT:
    "the mounted ConfigMap is not the config this pod stands for yet (the kubelet refreshes it with a delay; retried)",
};

/** The name of an exit code (`ROLLED_BACK` for 6), or null for a code nodecred never exits with. */
export function exitCodeName(exitCode: number): keyof typeof exitCodes | null {
  const found = Object.entries(exitCodes).find(([, n]) => n === exitCode);
  return found === undefined ? null : (found[0] as keyof typeof exitCodes);
}

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
