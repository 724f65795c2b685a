// The provider's I/O on Node (tests, the benchmark baseline, `node dist/provider/...mjs`).

import { readFileSync } from "node:fs";
import type { ProgramInputs, ProgramOutput, ReadResult } from "../core/run.ts";

function errorCode(e: unknown): string {
  if (typeof e === "object" && e !== null && "code" in e && typeof e.code === "string") {
    return e.code;
  }
  return "EIO";
}

function read(pathOrFd: string | number): ReadResult {
  try {
    return { ok: true, text: readFileSync(pathOrFd, "utf8") };
  } catch (e) {
    return { ok: false, code: errorCode(e) };
  }
}

export const nodeInputs: ProgramInputs = {
  readStdin: () => read(0),
  readFile: (path) => read(path),
};

export function nodeArgv(): string[] {
  return process.argv.slice(2);
}

export function nodeFinish(out: ProgramOutput): void {
  process.stdout.write(out.stdout);
  process.stderr.write(out.stderr);
  // exitCode rather than exit(): lets Node flush pipes before leaving.
  process.exitCode = out.exitCode;
}
