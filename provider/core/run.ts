// The whole program as a function: argv and the inputs it may read in, stdout/stderr/exit code out.
// The I/O adapters (provider/io) only supply the inputs and apply the output, so the Node build and
// the static QuickJS binary behave byte for byte alike.
//
// Failure contract (the kubelet logs stderr only when the exec fails): exactly one line on stderr,
// exit code 1, nothing on stdout. Nothing derived from a credential value is ever written to stderr.

import { parseArgs, USAGE, type Command } from "./cli.ts";
import { describeKey, parseDockerConfig } from "./docker-config.ts";
import { buildKeyring } from "./keyring.ts";
import { parseRequest } from "./request.ts";
import { answerFor, encodeResponse } from "./response.ts";
import { PROGRAM, VERSION } from "./version.ts";

/** The result of reading a file or stdin: its text, or the POSIX error name (e.g. "ENOENT"). */
export type ReadResult =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly code: string };

export interface ProgramInputs {
  readonly readStdin: () => ReadResult;
  readonly readFile: (path: string) => ReadResult;
}

export interface ProgramOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "not a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  EMFILE: "too many open files",
  EIO: "input/output error",
};

function describeErrno(code: string): string {
  return Object.prototype.hasOwnProperty.call(ERRNO_TEXT, code) ? (ERRNO_TEXT[code] ?? code) : code;
}

/** Line breaks become spaces, so one message is one line. (No RegExp: the binary leaves it out.) */
function oneLine(s: string): string {
  return s.split("\r").join(" ").split("\n").join(" ");
}

function fail(message: string): ProgramOutput {
  return { stdout: "", stderr: `${PROGRAM}: ${oneLine(message)}\n`, exitCode: 1 };
}

function ok(stdout: string): ProgramOutput {
  return { stdout, stderr: "", exitCode: 0 };
}

/** Runs the provider. */
export function run(argv: readonly string[], inputs: ProgramInputs): ProgramOutput {
  const cli = parseArgs(argv);
  if (!cli.ok) return fail(`${cli.problems.join("; ")} (see --help)`);
  return runCommand(cli.command, inputs);
}

function runCommand(command: Command, inputs: ProgramInputs): ProgramOutput {
  switch (command.kind) {
    case "help":
      return ok(USAGE);
    case "version":
      return ok(`${PROGRAM} ${VERSION}\n`);
    case "check":
      return check(command.credentialsPath, inputs);
    case "provide":
      return provide(command.credentialsPath, command.cacheDurationNs, inputs);
  }
}

function provide(path: string, cacheDurationNs: bigint, inputs: ProgramInputs): ProgramOutput {
  const stdin = inputs.readStdin();
  if (!stdin.ok) return fail(`cannot read the request from stdin: ${describeErrno(stdin.code)}`);
  const request = parseRequest(stdin.text);
  if (!request.ok) return fail(request.reason);

  const file = inputs.readFile(path);
  if (!file.ok) {
    return fail(
      `cannot read credentials file ${JSON.stringify(path)}: ${describeErrno(file.code)}`,
    );
  }
  const config = parseDockerConfig(file.text);
  if (!config.ok) {
    return fail(
      `credentials file ${JSON.stringify(path)} is invalid: ${config.problems.join("; ")}`,
    );
  }
  const keyring = buildKeyring(config.entries);
  const answer = answerFor(keyring, request.request.image, cacheDurationNs);
  return ok(encodeResponse(request.request.apiVersion, answer));
}

function check(path: string, inputs: ProgramInputs): ProgramOutput {
  const file = inputs.readFile(path);
  if (!file.ok) {
    return fail(
      `cannot read credentials file ${JSON.stringify(path)}: ${describeErrno(file.code)}`,
    );
  }
  const config = parseDockerConfig(file.text);
  const where = `credentials file ${JSON.stringify(path)}`;
  if (!config.ok) {
    return {
      stdout: "",
      stderr: config.problems.map((p) => `${PROGRAM}: ${where}: ${oneLine(p)}\n`).join(""),
      exitCode: 1,
    };
  }
  // Listed in the kubelet's lookup order, with the key each entry is known by after normalisation.
  const keyring = buildKeyring(config.entries);
  const lines = keyring.index.flatMap((key) =>
    (keyring.creds[key] ?? []).map((c) => `  ${key}  (key ${describeKey(c.key)})\n`),
  );
  const count = config.entries.length;
  return ok(
    `${where} is valid: ${String(count)} ${count === 1 ? "entry" : "entries"}\n${lines.join("")}`,
  );
}
