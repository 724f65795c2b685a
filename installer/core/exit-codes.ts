/**
 * The installer's exit codes, their stable names (the `code` of every log line and error) and what
 * each means in a line (the long form: installer/README.md "Exit codes"; a test keeps the two
 * tables' codes and names equal). Data only: the errors that carry them are installer/errors.ts,
 * and `kubectl nodecred status` (report/fleet-status.ts) prints a meaning next to a failed apply
 * init container's exit code.
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

/** What each exit code means, in a line. */
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
