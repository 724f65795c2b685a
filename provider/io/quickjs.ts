// The provider's I/O on QuickJS (the static binary): argv from scriptArgs, stdin/stdout/stderr and
// files through the `std` and `os` modules, exit through std.exit.

import * as os from "os";
import * as std from "std";
import {
  fileTypeCode,
  STDOUT_FAILURE,
  type ProgramInputs,
  type ProgramOutput,
  type ReadResult,
} from "../core/run.ts";

// Linux errno numbers (the same on amd64 and arm64) for the names the core knows; Node reports
// the names themselves, so both builds print the same message.
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  11: "EAGAIN",
  13: "EACCES",
  20: "ENOTDIR",
  21: "EISDIR",
  24: "EMFILE",
  27: "EFBIG",
  36: "ENAMETOOLONG",
  40: "ELOOP",
};
const EBADF = 9;

// open(2) flags the os module does not export (asm-generic values: amd64 and arm64 alike).
const O_NOCTTY = 0o400;
const O_NONBLOCK = 0o4000;

function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? std.strerror(errno);
}

/** A problem with the file's type or size, from its stat; undefined when it may be read. */
function statProblem(st: os.Stat, maxBytes: number): string | undefined {
  return fileTypeCode(st.mode) ?? (st.size > maxBytes ? "EFBIG" : undefined);
}

/** Reads f to its end (and closes it), or fails with EFBIG once there are more than maxBytes. */
function readBounded(f: std.FILE, maxBytes: number, close: boolean): ReadResult {
  const text = f.readAsString(maxBytes);
  const more = f.getByte() !== -1;
  const failed = f.error();
  if (close) f.close();
  if (failed) return { ok: false, code: "EIO" };
  return more ? { ok: false, code: "EFBIG" } : { ok: true, text };
}

/**
 * The type and size are checked on the path before opening (opening a device or a socket is itself
 * an action; fopen() of a FIFO blocks), and again on the open file through /proc/self/fd (the os
 * module has no fstat); O_NONBLOCK so that a FIFO swapped in meanwhile cannot block either.
 */
function readFile(path: string, maxBytes: number): ReadResult {
  const [st, statErr] = os.stat(path);
  if (statErr !== 0) return { ok: false, code: errnoName(statErr) };
  const before = statProblem(st, maxBytes);
  if (before !== undefined) return { ok: false, code: before };
  const fd = os.open(path, os.O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return { ok: false, code: errnoName(-fd) };
  const [opened, openedErr] = os.stat(`/proc/self/fd/${String(fd)}`);
  const after = openedErr === 0 ? statProblem(opened, maxBytes) : undefined;
  const errorObj: { errno?: number } = {};
  const f = after === undefined ? std.fdopen(fd, "r", errorObj) : null;
  if (f === null) {
    os.close(fd);
    return { ok: false, code: after ?? errnoName(errorObj.errno ?? 5) };
  }
  return readBounded(f, maxBytes, true);
}

function readStdin(maxBytes: number): ReadResult {
  const r = readBounded(std.in, maxBytes, false);
  // A closed stdin reads as an error without an errno; lseek tells it apart.
  if (!r.ok && r.code === "EIO" && os.seek(0, 0, std.SEEK_CUR) === -EBADF) {
    return { ok: false, code: "EBADF" };
  }
  return r;
}

export const quickjsInputs: ProgramInputs = { readStdin, readFile };

/** argv without the program name. */
export function quickjsArgv(): string[] {
  const args = (globalThis as unknown as { scriptArgs?: string[] }).scriptArgs ?? [];
  return args.slice(1);
}

/**
 * Writes stdout and stderr and exits; a failed stdout write (closed, EPIPE: the reader went away,
 * ENOSPC) makes the exit code 1 with STDOUT_FAILURE on stderr, never 0.
 */
export function quickjsFinish(out: ProgramOutput): never {
  // A write to a pipe without a reader then fails with EPIPE instead of killing us silently.
  os.signal(os.SIGPIPE, undefined);
  let { stderr, exitCode } = out;
  if (out.stdout !== "") {
    std.out.puts(out.stdout);
    std.out.flush();
    if (std.out.error()) {
      stderr += STDOUT_FAILURE;
      exitCode = 1;
    }
  }
  std.err.puts(stderr);
  std.err.flush();
  return std.exit(exitCode);
}
