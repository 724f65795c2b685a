// The whole program as a function: argv and the inputs it may read in, stdout/stderr/exit code out.
// The I/O adapters (provider/io) only supply the inputs and apply the output, so the Node build and
// the static QuickJS binary behave byte for byte alike.
//
// Failure contract (the kubelet logs stderr only when the exec fails): exactly one line on stderr,
// exit code 1, nothing on stdout. Nothing derived from a credential value or from the request's
// service-account token is ever written to stderr.
//
// A scoped policy (credential sets) answers from the set scopes.ts chooses for the pod's namespace
// (from the token) and selection (the ServiceAccount's annotation); an unscoped policy and
// --credentials ignore a token, as they always have.
//
// Bounded input: the shells read at most MAX_FILE_BYTES of the policy/credentials file (only a
// regular file: a FIFO or a device could block or never end) and MAX_REQUEST_BYTES of stdin, and
// refuse more; a failure line lists at most a few problems and is cut to MAX_LINE_CHARS.

import { parseArgs, USAGE, type CheckCommand, type Command, type Source } from "./cli.ts";
import { describeKey, parseDockerConfig } from "./docker-config.ts";
import { normalizeImage } from "./image-ref.ts";
import { buildKeyring, lookup, type Credential, type LookupResult } from "./keyring.ts";
import {
  matchingRule,
  parsePolicy,
  type CredentialSet,
  type Grants,
  type PolicyRule,
} from "./policy.ts";
import { parseRequest } from "./request.ts";
import { answerFromLookup, EMPTY_ANSWER, encodeResponse, type ProviderAnswer } from "./response.ts";
import {
  chooseSet,
  requestScope,
  SELECT_ANNOTATION,
  type Scope,
  type ScopeResult,
  type SetChoice,
} from "./scopes.ts";
import { PROGRAM, VERSION } from "./version.ts";

/**
 * The largest policy or credentials file read. The installer writes the policy from one Secret and
 * one ConfigMap, each at most 1 MiB (the API server's limit); re-encoding can grow the credentials
 * (an `auth` field is base64; a control character in a password comes back as a 6-byte \u escape,
 * 4.5 times its base64), so even a contrived pair stays under 6 MiB, and a real one near 2 MiB.
 */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

/**
 * The largest request read from stdin: the kubelet sends an image name and, at most, a service
 * account token and the account's annotations (256 KiB in all, the API server's limit).
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** How much of a failure one stderr line shows. */
const MAX_LINE_CHARS = 4096;
const MAX_PROBLEMS_PER_LINE = 10;
const MAX_PROBLEM_LINES = 100;

/**
 * The result of reading a file or stdin: its text, or why not: a POSIX error name (e.g. "ENOENT";
 * "EFBIG" when over the limit) or, for a file that is not a regular file, its type (S_IFIFO...).
 */
export type ReadResult =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly code: string };

export interface ProgramInputs {
  /** Reads stdin to its end, or fails with EFBIG as soon as it holds more than maxBytes. */
  readonly readStdin: (maxBytes: number) => ReadResult;
  /**
   * Reads a regular file (following symbolic links), or fails without reading: with the type
   * code of fileTypeCode for anything else, with EFBIG for one over maxBytes. Never blocks on a
   * FIFO, never reads more than maxBytes + 1 bytes.
   */
  readonly readFile: (path: string, maxBytes: number) => ReadResult;
}

// File types of st_mode (the same numbers on every Linux architecture and POSIX system).
const S_IFMT = 0o170000;
const FILE_TYPES: Readonly<Record<number, string>> = {
  [0o100000]: "",
  [0o040000]: "EISDIR",
  [0o010000]: "S_IFIFO",
  [0o020000]: "S_IFCHR",
  [0o060000]: "S_IFBLK",
  [0o140000]: "S_IFSOCK",
  [0o120000]: "S_IFLNK",
};

/** For a stat mode, the ReadResult code when it is not a regular file; undefined when it is. */
export function fileTypeCode(mode: number): string | undefined {
  const code = FILE_TYPES[mode & S_IFMT] ?? "S_IFMT";
  return code === "" ? undefined : code;
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
  EBADF: "bad file descriptor (closed?)",
  EAGAIN: "resource temporarily unavailable",
  ENXIO: "no such device or address",
  S_IFIFO: "not a regular file but a FIFO (named pipe)",
  S_IFCHR: "not a regular file but a character device",
  S_IFBLK: "not a regular file but a block device",
  S_IFSOCK: "not a regular file but a socket",
  S_IFLNK: "not a regular file but a symbolic link",
  S_IFMT: "not a regular file",
};

function describeErrno(code: string): string {
  return Object.prototype.hasOwnProperty.call(ERRNO_TEXT, code) ? (ERRNO_TEXT[code] ?? code) : code;
}

/** Why a read failed, for a message; EFBIG names the limit. */
function describeRead(code: string, maxBytes: number): string {
  return code === "EFBIG"
    ? `larger than the limit of ${String(maxBytes)} bytes`
    : describeErrno(code);
}

/**
 * Line breaks become spaces, so one message is one line, cut to MAX_LINE_CHARS (a problem may
 * quote a key, and a key may be long). (No RegExp: the binary leaves it out.)
 */
function oneLine(s: string): string {
  const line = s.split("\r").join(" ").split("\n").join(" ");
  if (line.length <= MAX_LINE_CHARS) return line;
  // Not between the halves of a surrogate pair: both builds must write the same bytes.
  const high = line.charCodeAt(MAX_LINE_CHARS - 1);
  const cut = high >= 0xd800 && high <= 0xdbff ? MAX_LINE_CHARS - 1 : MAX_LINE_CHARS;
  return `${line.slice(0, cut)}... (${String(line.length - cut)} more characters)`;
}

/** The first `max` problems, and how many more there are. */
function someProblems(problems: readonly string[], max: number): string[] {
  if (problems.length <= max) return [...problems];
  return [...problems.slice(0, max), `and ${String(problems.length - max)} more problems`];
}

function fail(message: string): ProgramOutput {
  return { stdout: "", stderr: `${PROGRAM}: ${oneLine(message)}\n`, exitCode: 1 };
}

/**
 * The stderr line of a shell whose stdout write failed (closed, a gone reader, a full disk): the
 * answer never reached the kubelet, so the exit code is 1 whatever run() returned.
 */
export const STDOUT_FAILURE = `${PROGRAM}: cannot write the response to stdout\n`;

function ok(stdout: string): ProgramOutput {
  return { stdout, stderr: "", exitCode: 0 };
}

/** Runs the provider. */
export function run(argv: readonly string[], inputs: ProgramInputs): ProgramOutput {
  try {
    const cli = parseArgs(argv);
    if (!cli.ok) return fail(`${cli.problems.join("; ")} (see --help)`);
    return runCommand(cli.command, inputs);
  } catch (e) {
    // Still the failure contract. Only the error's type: an engine message may quote input.
    const name = e instanceof Error ? e.name : typeof e;
    return fail(`internal error (${name})`);
  }
}

function runCommand(command: Command, inputs: ProgramInputs): ProgramOutput {
  switch (command.kind) {
    case "help":
      return ok(USAGE);
    case "version":
      return ok(`${PROGRAM} ${VERSION}\n`);
    case "check":
      return check(command, inputs);
    case "provide":
      return provide(command.source, command.cacheDurationNs, inputs);
  }
}

/** What a source holds once read: the grants and, for a policy, the live rules. */
interface Loaded {
  /** A Docker config's are never scoped. */
  readonly grants: Grants;
  /** null: a plain Docker config, every image the kubelet sends is ours to answer. */
  readonly rules: readonly PolicyRule[] | null;
}

type LoadResult =
  | { readonly ok: true; readonly loaded: Loaded }
  /** `unreadable`: the one problem is that the file could not be read. */
  | { readonly ok: false; readonly unreadable: boolean; readonly problems: readonly string[] };

function describeSource(source: Source): string {
  return `${source.kind} file ${JSON.stringify(source.path)}`;
}

function load(source: Source, inputs: ProgramInputs): LoadResult {
  const file = inputs.readFile(source.path, MAX_FILE_BYTES);
  if (!file.ok) {
    return { ok: false, unreadable: true, problems: [describeRead(file.code, MAX_FILE_BYTES)] };
  }
  if (source.kind === "policy") {
    const parsed = parsePolicy(file.text);
    if (!parsed.ok) return { ok: false, unreadable: false, problems: parsed.problems };
    return { ok: true, loaded: parsed.policy };
  }
  const config = parseDockerConfig(file.text);
  if (!config.ok) return { ok: false, unreadable: false, problems: config.problems };
  return {
    ok: true,
    loaded: { grants: { scoped: false, credentials: config.entries }, rules: null },
  };
}

/** Why a source cannot be used, one message per problem. */
function loadProblems(
  source: Source,
  r: { unreadable: boolean; problems: readonly string[] },
): string[] {
  const where = describeSource(source);
  return r.unreadable
    ? [`cannot read ${where}: ${r.problems.join("; ")}`]
    : someProblems(r.problems, MAX_PROBLEM_LINES).map((p) => `${where}: ${p}`);
}

/** The one decision, shared by the answer and by `--check --image`. */
interface Decision {
  /** The live rule that let the image in (undefined: none did; null: no rules to apply). */
  readonly rule: PolicyRule | undefined | null;
  /** A scoped policy's scope and set choice, once a rule let the image in; else null. */
  readonly scoped: { readonly scope: Scope; readonly choice: SetChoice } | null;
  readonly lookup: LookupResult;
  readonly answer: ProviderAnswer;
}

type DecisionResult =
  | { readonly ok: true; readonly decision: Decision }
  | { readonly ok: false; readonly problem: string };

const NOTHING: LookupResult = { credentials: [], via: "none" };

/**
 * `scopeOf` is asked only for a scoped policy and an image a rule lets in: a token outside the
 * rules is never read.
 */
function decide(
  loaded: Loaded,
  image: string,
  cacheDurationNs: bigint,
  scopeOf: () => ScopeResult,
): DecisionResult {
  const rule = loaded.rules === null ? null : matchingRule(loaded.rules, image);
  if (rule === undefined) {
    return { ok: true, decision: { rule, scoped: null, lookup: NOTHING, answer: EMPTY_ANSWER } };
  }
  const rules = (loaded.rules ?? []).map((r) => r.url);
  const { grants } = loaded;
  if (!grants.scoped) {
    const keyring = buildKeyring(grants.credentials);
    const found = lookup(keyring, image);
    const answer = answerFromLookup(found, keyring, image, cacheDurationNs, rules);
    return { ok: true, decision: { rule, scoped: null, lookup: found, answer } };
  }
  const scope = scopeOf();
  if (!scope.ok) return scope;
  const choice = chooseSet(grants.sets, scope.scope, image);
  const scoped = { scope: scope.scope, choice };
  if (choice.chosen === null) {
    return { ok: true, decision: { rule, scoped, lookup: NOTHING, answer: EMPTY_ANSWER } };
  }
  // The cache key must hold for every image a cached answer is reused for (chooseCacheKeyType):
  // another path on the same registry may be answered by another allowed set, so a key with a
  // path in any allowed set counts, not only in the chosen one.
  const allowedCredentials: Credential[] = [];
  for (const set of choice.allowed) for (const c of set.credentials) allowedCredentials.push(c);
  const answer = answerFromLookup(
    choice.chosen.lookup,
    buildKeyring(allowedCredentials),
    image,
    cacheDurationNs,
    rules,
  );
  return { ok: true, decision: { rule, scoped, lookup: choice.chosen.lookup, answer } };
}

function provide(source: Source, cacheDurationNs: bigint, inputs: ProgramInputs): ProgramOutput {
  const stdin = inputs.readStdin(MAX_REQUEST_BYTES);
  if (!stdin.ok) {
    return fail(
      `cannot read the request from stdin: ${describeRead(stdin.code, MAX_REQUEST_BYTES)}`,
    );
  }
  const request = parseRequest(stdin.text);
  if (!request.ok) return fail(request.reason);
  const loaded = load(source, inputs);
  if (!loaded.ok) {
    return fail(
      loaded.unreadable
        ? (loadProblems(source, loaded)[0] ?? "")
        : `${describeSource(source)} is invalid: ${someProblems(loaded.problems, MAX_PROBLEMS_PER_LINE).join("; ")}`,
    );
  }
  const { image, serviceAccountToken, serviceAccountAnnotations } = request.request;
  const decided = decide(loaded.loaded, image, cacheDurationNs, () =>
    requestScope(serviceAccountToken, serviceAccountAnnotations),
  );
  // The problem names what is wrong with the token, never any of its text.
  if (!decided.ok) return fail(decided.problem);
  return ok(encodeResponse(request.request.apiVersion, decided.decision.answer));
}

function plural(n: number, one: string, many: string): string {
  return `${String(n)} ${n === 1 ? one : many}`;
}

function keyLine(key: string, c: Credential, indent = "  "): string {
  return `${indent}${key}  (key ${describeKey(c.key)})\n`;
}

/** Keys in the kubelet's lookup order, with the key each entry is known by after normalisation. */
function keyLines(credentials: readonly Credential[], indent = "  "): string[] {
  const keyring = buildKeyring(credentials);
  const out: string[] = [];
  for (const key of keyring.index) {
    for (const c of keyring.creds[key] ?? []) out.push(keyLine(key, c, indent));
  }
  return out;
}

function quoteList(items: readonly string[]): string {
  return items.map((i) => JSON.stringify(i)).join(", ");
}

/** A set for --check: where it comes from, who may use it, its keys (never a secret). */
function setLines(set: CredentialSet): string[] {
  const secret = set.secret === null ? "(default Secret)" : `Secret ${JSON.stringify(set.secret)}`;
  const out = [
    `  set ${JSON.stringify(set.name)}  ${secret}\n`,
    `    namespaces: ${set.namespaces.length === 0 ? "none" : quoteList(set.namespaces)}\n`,
    set.onlyWhenSelected
      ? `    onlyWhenSelected: yes (only for a ServiceAccount annotated ${SELECT_ANNOTATION}: ${set.name})\n`
      : "    onlyWhenSelected: no\n",
  ];
  if (set.credentials.length === 0) {
    out.push("    no credentials (it answers no image)\n");
    return out;
  }
  out.push("    credentials in the kubelet's lookup order:\n");
  for (const line of keyLines(set.credentials, "      ")) out.push(line);
  return out;
}

function check(command: CheckCommand, inputs: ProgramInputs): ProgramOutput {
  const { source, image } = command;
  const loaded = load(source, inputs);
  if (!loaded.ok) {
    return {
      stdout: "",
      stderr: loadProblems(source, loaded)
        .map((p) => `${PROGRAM}: ${oneLine(p)}\n`)
        .join(""),
      exitCode: 1,
    };
  }
  const { grants, rules } = loaded.loaded;
  const out: string[] = [];
  const counts = rules === null ? [] : [plural(rules.length, "rule", "rules")];
  if (grants.scoped) {
    let total = 0;
    for (const set of grants.sets) total += set.credentials.length;
    counts.push(plural(grants.sets.length, "credential set", "credential sets"));
    counts.push(plural(total, "credential", "credentials"));
  } else {
    counts.push(
      plural(
        grants.credentials.length,
        source.kind === "policy" ? "credential" : "entry",
        source.kind === "policy" ? "credentials" : "entries",
      ),
    );
  }
  out.push(`${describeSource(source)} is valid: ${counts.join(", ")}\n`);
  if (rules !== null) {
    out.push("rules (matchImages; an image no rule matches gets an empty answer):\n");
    // A pattern may hold userinfo ("user:pass@reg.io" parses): shown redacted, like a key.
    for (const r of rules) out.push(`  ${describeKey(r.pattern)}\n`);
  }
  if (grants.scoped) {
    out.push(
      "credential sets (an image is answered from the set its ServiceAccount selects, else from the first allowed one that answers):\n",
    );
    for (const set of grants.sets) for (const line of setLines(set)) out.push(line);
  } else {
    if (rules !== null) out.push("credentials in the kubelet's lookup order:\n");
    for (const line of keyLines(grants.credentials)) out.push(line);
  }
  if (image !== null) {
    const scope: Scope = { namespace: command.namespace, selected: command.selected };
    const decided = decide(loaded.loaded, normalizeImage(image), 0n, () => ({ ok: true, scope }));
    // A --check scope is always ok: only a token can be refused.
    if (decided.ok) out.push(describeDecision(image, decided.decision, command));
  }
  return ok(out.join(""));
}

function describeScope(scope: Scope): string {
  const who =
    scope.namespace === null
      ? "  no namespace (a pod without a service account token; give --namespace): only sets open to every namespace\n"
      : `  namespace ${JSON.stringify(scope.namespace)}\n`;
  return scope.selected === null
    ? who
    : `${who}  selected set ${JSON.stringify(scope.selected)} (${SELECT_ANNOTATION})\n`;
}

const SELECTION_TEXT: Readonly<Record<SetChoice["selection"], string>> = {
  none: "",
  unknown: "  the selected set does not exist: ignored\n",
  "not-allowed": "  the selected set is not allowed for this namespace: ignored\n",
  "no-answer": "  the selected set has no credentials for it: the other sets are tried\n",
  used: "",
};

function describeDecision(image: string, d: Decision, command: CheckCommand): string {
  const asked = normalizeImage(image);
  const head = `image ${JSON.stringify(image)}${asked === image ? "" : ` (the kubelet asks for ${JSON.stringify(asked)})`}:\n`;
  if (d.rule === undefined) {
    return `${head}  matches no rule: empty answer, not cached (the kubelet pulls without nodecred's credentials)\n`;
  }
  let via = d.rule === null ? "" : `  matches rule ${describeKey(d.rule.pattern)}\n`;
  const asksScope = command.namespace !== null || command.selected !== null;
  if (d.scoped === null && asksScope) {
    via += "  the policy is not scoped: every namespace gets this answer\n";
  }
  let from = "";
  if (d.scoped !== null) {
    const { scope, choice } = d.scoped;
    via += describeScope(scope);
    via += `  allowed sets: ${choice.allowed.length === 0 ? "none" : quoteList(choice.allowed.map((s) => s.name))}\n`;
    via += SELECTION_TEXT[choice.selection];
    if (choice.chosen === null)
      return `${head}${via}  no allowed set answers it: empty answer, not cached\n`;
    const why = choice.selection === "used" ? "selected" : "the first allowed set that answers";
    from = ` from set ${JSON.stringify(choice.chosen.set.name)} (${why})`;
  }
  if (d.lookup.credentials.length === 0) {
    return `${head}${via}  no credentials key matches it: empty answer, not cached\n`;
  }
  const fallback =
    d.lookup.via === "default-registry" ? " (the kubelet's Docker Hub fallback)" : "";
  const keys = d.lookup.credentials.map((c) => `    key ${describeKey(c.key)}\n`);
  return `${head}${via}  answered${from} with ${plural(d.lookup.credentials.length, "credential", "credentials")}, tried in this order${fallback}:\n${keys.join("")}`;
}
