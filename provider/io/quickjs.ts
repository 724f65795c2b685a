// The provider's I/O on QuickJS (the static binary): argv from scriptArgs, stdin/stdout/stderr and
// files through the `std` and `os` modules, exit through std.exit.

import * as os from "os";
import * as std from "std";
import type { ProgramInputs, ProgramOutput, ReadResult } from "../core/run.ts";

// Linux errno numbers (the same on amd64 and arm64) for the names the core knows; Node reports
// the names themselves, so both builds print the same message.
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  13: "EACCES",
  20: "ENOTDIR",
  21: "EISDIR",
  24: "EMFILE",
  36: "ENAMETOOLONG",
  40: "ELOOP",
};

function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? std.strerror(errno);
}

function readFile(path: string): ReadResult {
  const [st, statErr] = os.stat(path);
  if (statErr !== 0) return { ok: false, code: errnoName(statErr) };
  // fopen() succeeds on a directory on Linux; only the read fails, and without an errno.
  if ((st.mode & os.S_IFMT) === os.S_IFDIR) return { ok: false, code: "EISDIR" };
  const errorObj: { errno?: number } = {};
  const f = std.open(path, "r", errorObj);
  if (f === null) return { ok: false, code: errnoName(errorObj.errno ?? 5) };
  const text = f.readAsString();
  const failed = f.error();
  f.close();
  return failed ? { ok: false, code: "EIO" } : { ok: true, text };
}

function readStdin(): ReadResult {
  const text = std.in.readAsString();
  return std.in.error() ? { ok: false, code: "EIO" } : { ok: true, text };
}

export const quickjsInputs: ProgramInputs = { readStdin, readFile };

/** argv without the program name. */
export function quickjsArgv(): string[] {
  const args = (globalThis as unknown as { scriptArgs?: string[] }).scriptArgs ?? [];
  return args.slice(1);
}

export function quickjsFinish(out: ProgramOutput): never {
  std.out.puts(out.stdout);
  std.out.flush();
  std.err.puts(out.stderr);
  std.err.flush();
  return std.exit(out.exitCode);
}
