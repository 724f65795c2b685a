// The provider's I/O on Node (tests, the benchmark baseline, `node dist/provider/...mjs`).

import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from "node:fs";
import {
  fileTypeCode,
  STDOUT_FAILURE,
  type ProgramInputs,
  type ProgramOutput,
  type ReadResult,
} from "../core/run.ts";

function errorCode(e: unknown): string {
  if (typeof e === "object" && e !== null && "code" in e && typeof e.code === "string") {
    return e.code;
  }
  return "EIO";
}

const CHUNK = 64 * 1024;
const O_ACCMODE = 3; // not in fs.constants

/** Sleeps a millisecond: a non-blocking pipe is not ready yet. */
function pause(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
}

/**
 * Reads fd to its end, or stops with EFBIG once it has more than maxBytes. `wait`: a pipe that
 * is not ready (EAGAIN) is waited for, as a blocking read would; otherwise that is an error.
 */
function readBounded(fd: number, maxBytes: number, wait: boolean): ReadResult {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes + 1 - total));
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if (!wait || errorCode(e) !== "EAGAIN") throw e;
      pause();
      continue;
    }
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
    total += n;
    if (total > maxBytes) return { ok: false, code: "EFBIG" };
  }
  return { ok: true, text: Buffer.concat(chunks, total).toString("utf8") };
}

/** A problem with the file's type or size, from its stat; undefined when it may be read. */
function statProblem(st: { mode: number; size: number }, maxBytes: number): string | undefined {
  return fileTypeCode(st.mode) ?? (st.size > maxBytes ? "EFBIG" : undefined);
}

/**
 * The type and size are checked on the path before opening (opening a device or a socket is itself
 * an action), then on the open file; O_NONBLOCK so that a FIFO swapped in meanwhile cannot block.
 */
function readFile(path: string, maxBytes: number): ReadResult {
  let fd: number;
  try {
    const problem = statProblem(statSync(path), maxBytes);
    if (problem !== undefined) return { ok: false, code: problem };
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return { ok: false, code: errorCode(e) };
  }
  try {
    const problem = statProblem(fstatSync(fd), maxBytes);
    if (problem !== undefined) return { ok: false, code: problem };
    return readBounded(fd, maxBytes, false);
  } catch (e) {
    return { ok: false, code: errorCode(e) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Node replaces a closed stdin/stdout/stderr with /dev/null opened read-write before any script
 * runs, so "closed" would look like an empty input or a sink that takes everything. A shell's
 * `>/dev/null` opens it write-only (`</dev/null` read-only); read-write /dev/null is taken as
 * closed. Where /proc cannot tell, the descriptor is taken as given.
 */
function wasClosed(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    const devNull = statSync("/dev/null");
    if (!st.isCharacterDevice() || st.rdev !== devNull.rdev) return false;
    const info = readFileSync(`/proc/self/fdinfo/${String(fd)}`, "utf8");
    const flags = /^flags:\s*([0-7]+)$/m.exec(info)?.[1];
    return flags !== undefined && (parseInt(flags, 8) & O_ACCMODE) === constants.O_RDWR;
  } catch {
    return false;
  }
}

function readStdin(maxBytes: number): ReadResult {
  if (wasClosed(0)) return { ok: false, code: "EBADF" };
  try {
    return readBounded(0, maxBytes, true);
  } catch (e) {
    return { ok: false, code: errorCode(e) };
  }
}

export const nodeInputs: ProgramInputs = { readStdin, readFile };

export function nodeArgv(): string[] {
  return process.argv.slice(2);
}

/**
 * Writes stdout and stderr synchronously and sets the exit code; a failed stdout write (closed,
 * EPIPE: the reader went away, ENOSPC) makes it 1 with STDOUT_FAILURE on stderr, never 0.
 */
export function nodeFinish(out: ProgramOutput): void {
  let { stderr, exitCode } = out;
  if (out.stdout !== "") {
    try {
      if (wasClosed(1)) throw new Error("stdout is closed");
      writeAll(1, out.stdout);
    } catch {
      stderr += STDOUT_FAILURE;
      exitCode = 1;
    }
  }
  try {
    writeAll(2, stderr);
  } catch {
    // Nowhere left to report it; the exit code still says it.
  }
  process.exitCode = exitCode;
}

/** writeSync until every byte is written (a pipe may take part of it; Node ignores SIGPIPE). */
function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, "utf8");
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      // A non-blocking pipe that is full: wait, as a blocking write would.
      if (errorCode(e) !== "EAGAIN") throw e;
      pause();
    }
  }
}
