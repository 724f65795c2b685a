import { fail, ok, problem, type Problem, type Result } from "../problems.ts";
import { extractFirstWord, isSpace, skipSpace, type ExtractFlags } from "./extract-word.ts";
import { isEnvName } from "./systemd-env-file.ts";

/**
 * How systemd builds a service from its unit file and drop-ins, as pure functions of their texts:
 * which command the kubelet runs, which flags that command line holds itself and which variables
 * it takes them from. Each rule is systemd's, from its source: src/shared/conf-parser.c
 * (config_parse, parse_line), src/shared/dropin.c and src/basic/conf-files.c (which drop-ins, in
 * which order), src/core/load-fragment.c (config_parse_exec, config_parse_environ,
 * config_parse_unit_env_file), src/basic/extract-word.c and escape.c (words, quotes, escapes:
 * extract-word.ts), src/basic/env-util.c (replace_env_argv, the expansion at exec time);
 * src/core/service.c (service_verify) refuses more than one command. The tests compare these
 * functions with systemd's own reading (`systemd --test` dumps the loaded unit) where systemd is
 * installed.
 *
 * Not modelled: specifiers other than `%%` (kept as written), glob patterns in EnvironmentFile=
 * (returned as written), PassEnvironment=, UnsetEnvironment= and the manager's own environment
 * (DefaultEnvironment=), unit aliases and templates.
 */

// ---------------------------------------------------------------------------------------------
// Where systemd looks

/**
 * systemd's system unit search path (systemd.unit(5), `systemd-analyze unit-paths`), first to
 * last, cut to what nodecred's pod sees of the host (/etc, /var/lib, /usr/lib). Left out:
 * everything under /run (system.control, transient, generator.early, system, system.attached,
 * generator, generator.late: `systemctl edit --runtime` and generated units are invisible to
 * us) and /usr/local/lib/systemd/system (not under /usr/lib). /lib/systemd/system is a directory
 * of its own only on split-/usr hosts, where Debian's build searches it before /usr/lib (as
 * `systemd-analyze unit-paths` prints on Debian 12); on merged /usr it is /usr/lib again.
 */
export const systemUnitDirs: readonly string[] = [
  "/etc/systemd/system.control",
  "/etc/systemd/system",
  "/etc/systemd/system.attached",
  "/lib/systemd/system",
  "/usr/lib/systemd/system",
];

export interface UnitSearchPaths {
  /** Where the unit file may be; systemd loads the first that exists. */
  readonly units: readonly string[];
  /** Directories whose `*.conf` files are drop-ins; a name in one hides that name in later ones. */
  readonly dropInDirs: readonly string[];
}

/** The host paths systemd reads `unit` (`kubelet.service`) from, in priority order. */
export function unitSearchPaths(unit: string): UnitSearchPaths {
  const type = unit.slice(unit.lastIndexOf(".") + 1);
  return {
    units: systemUnitDirs.map((d) => `${d}/${unit}`),
    // dropin.c unit_file_find_dropin_paths: the unit's own `.d` in every directory, then the
    // type-wide `service.d` ones, "the most generic", last.
    dropInDirs: [
      ...systemUnitDirs.map((d) => `${d}/${unit}.d`),
      ...systemUnitDirs.map((d) => `${d}/${type}.d`),
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// The [Service] section, as systemd loads it

export interface UnitFile {
  readonly path: string;
  readonly text: string;
}

export interface EnvironmentFileRef {
  readonly path: string;
  /** Written with a leading `-`: a missing file is no error. */
  readonly optional: boolean;
}

export interface EffectiveService {
  /**
   * The argv of the one ExecStart= command as systemd stores it (quotes, escapes and `%%`
   * resolved; `$VAR` and `${VAR}` not expanded, that happens at each start), without its `-@:+!`
   * prefixes (with `@`, argv[0] is the word after the path); null when there is none (systemd
   * then refuses a simple service).
   */
  readonly execStart: readonly string[] | null;
  /** False with the `:` prefix: systemd then expands no variables on the command line. */
  readonly expandsVariables: boolean;
  /** Environment= assignments, in systemd's order (a later one replaces an earlier in place). */
  readonly environment: readonly (readonly [string, string])[];
  /** EnvironmentFile= entries in order; their values override Environment= (systemd.exec(5)). */
  readonly environmentFiles: readonly EnvironmentFileRef[];
  /** The drop-ins applied after the unit file, in order. */
  readonly dropIns: readonly string[];
}

/**
 * The service systemd builds from `files`: the unit file (the first found, the caller resolves
 * which) followed by any drop-ins of unitSearchPaths, in any order. Drop-ins apply in the order of
 * their file names across all directories (strcmp); a name in an earlier directory masks it in
 * later ones, so an empty file (a link to /dev/null) hides a drop-in (conf-files.c). Texts are
 * the files decoded strictly as UTF-8: systemd refuses a unit with a line that is not.
 */
export function effectiveService(files: readonly UnitFile[]): Result<EffectiveService> {
  const [unit, ...rest] = files;
  if (unit === undefined) return fail([problem("", "no unit file")]);
  const slash = unit.path.lastIndexOf("/");
  const { dropInDirs } = unitSearchPaths(unit.path.slice(slash + 1));
  const chosen = new Map<string, { file: UnitFile; rank: number }>();
  const problems: Problem[] = [];
  for (const file of rest) {
    const cut = file.path.lastIndexOf("/");
    const name = file.path.slice(cut + 1);
    const rank = dropInDirs.indexOf(file.path.slice(0, cut));
    if (rank === -1) problems.push(problem(file.path, "is not in a drop-in directory of the unit"));
    // conf-files.c: only `*.conf`, no hidden files.
    if (rank === -1 || !name.endsWith(".conf") || name.startsWith(".")) continue;
    const seen = chosen.get(name);
    if (seen === undefined || rank < seen.rank) chosen.set(name, { file, rank });
  }
  const dropIns = [...chosen.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => (chosen.get(n) as { file: UnitFile }).file);

  const s: ServiceState = { commands: [], environment: [], environmentFiles: [] };
  for (const file of [unit, ...dropIns]) problems.push(...applyFile(s, file));
  if (s.commands.length > 1) {
    problems.push(
      problem(
        unit.path,
        `the service has ${s.commands.length} ExecStart= commands (${s.commands.map((c) => c.at).join(", ")}); systemd refuses that for a service that is not Type=oneshot`,
      ),
    );
  }
  if (problems.length > 0) return fail(problems);
  const command = s.commands[0];
  return ok({
    execStart: command?.argv ?? null,
    expandsVariables: command?.expands ?? true,
    environment: s.environment,
    environmentFiles: s.environmentFiles,
    dropIns: dropIns.map((f) => f.path),
  });
}

interface ServiceState {
  commands: { argv: string[]; expands: boolean; at: string }[];
  environment: [string, string][];
  environmentFiles: EnvironmentFileRef[];
}

const strip = (s: string): string => {
  let [from, to] = [0, s.length];
  while (isSpace(s[from])) from++;
  while (to > from && isSpace(s[to - 1])) to--;
  return s.slice(from, to);
};
/** string_is_safe: no control characters, quotes or backslashes. */
const isSafe = (s: string): boolean =>
  !Array.from(s).some((c) => c < " " || c === "\x7f" || `"'\\`.includes(c));
/** utf8_is_valid on text: no lone surrogate, no noncharacter (systemd-env-file.ts isSystemdUtf8). */
const isSystemdText = (s: string): boolean =>
  !Array.from(s).some((c) => {
    const cp = c.codePointAt(0) ?? 0;
    return (
      (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe
    );
  });
/**
 * How extract_first_word reads these lines: quotes anywhere in a word, C escapes in and out of
 * them. ExecStart= is read with extract_first_word_and_warn, whose retry keeps an unknown escape
 * or a final backslash as written instead of failing the line; Environment= is not.
 */
const execWords: ExtractFlags = { cunescape: true, unescapeRelax: true, relax: false };
const environmentWords: ExtractFlags = { cunescape: true, unescapeRelax: false, relax: false };
/** Specifiers: `%%` is `%`; others are left as written (see the header). */
const specifiers = (s: string): string => s.replace(/%%/g, "%");

/** config_parse: logical lines of the file, each applied to the service as it is read. */
function applyFile(s: ServiceState, file: UnitFile): Problem[] {
  const problems: Problem[] = [];
  let section: string | null = null;
  let continuation: string | null = null;
  let bomSeen = false;
  // read_line: LF, CR, CRLF and LFCR each end a line.
  const lines = file.text.split(/\r\n|\n\r|\r|\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  const parseLine = (raw: string, line: number): void => {
    const l = strip(raw);
    const at = `${file.path}:${line}`;
    if (l === "") return;
    if (!isSystemdText(l)) {
      problems.push(
        problem(at, "systemd refuses the unit: the line is not UTF-8 as systemd sees it"),
      );
      return;
    }
    if (l.startsWith("[")) {
      if (!l.endsWith("]") || !isSafe(l)) {
        problems.push(problem(at, `systemd refuses the unit: bad section header ${l}`));
      }
      section = l.slice(1, -1);
      return;
    }
    const eq = l.indexOf("=");
    if (section !== "Service" || eq < 1) return; // other sections; "Missing '='", ignored
    const key = strip(l.slice(0, eq));
    const value = strip(l.slice(eq + 1));
    if (key === "ExecStart") problems.push(...parseExec(s, value, at));
    else if (key === "Environment") parseEnvironment(s, value);
    else if (key === "EnvironmentFile") parseEnvironmentFile(s, value);
  };
  for (const [i, text] of lines.entries()) {
    // A comment line is skipped before continuations are joined, so it never ends one.
    if (/^[ \t\n\r]*[#;]/.test(text)) continue;
    let l = text;
    if (!bomSeen && l.startsWith("\uFEFF")) [l, bomSeen] = [l.slice(1), true];
    const p: string = (continuation ?? "") + l;
    // An odd run of backslashes at the end continues the line; the last one becomes a space.
    let run = 0;
    while (p[p.length - 1 - run] === "\\") run++;
    if (run % 2 === 1) {
      continuation = `${p.slice(0, -1)} `;
      continue;
    }
    continuation = null;
    parseLine(p, i + 1);
  }
  if (continuation !== null) parseLine(continuation, lines.length);
  return problems;
}

/** config_parse_exec: one or more commands separated by a lone `;`. */
function parseExec(s: ServiceState, value: string, at: string): Problem[] {
  if (value === "") {
    s.commands = [];
    return [];
  }
  for (let p = 0; ;) {
    const first = extractFirstWord(value, p, execWords);
    if (first === null || first === "unbalanced") return []; // logged and ignored by systemd
    p = first.next;
    if (first.word === ";") continue;
    const { flags, path } = execPrefixes(first.word);
    const refuse = (why: string): Problem[] =>
      flags.has("-") ? [] : [problem(at, `systemd refuses the unit: ExecStart= ${why}`)];
    if (isBadExecutable(path)) {
      return refuse(`has a bad executable path ${JSON.stringify(path)}`);
    }
    const args = execArguments(value, p);
    if (args === "unbalanced") return refuse("has unbalanced quotes");
    const argv = flags.has("@") ? args.words : [path, ...args.words];
    if (argv.length === 0) return refuse("has no argv[0] after @");
    s.commands.push({ argv, expands: !flags.has(":"), at });
    if (!args.more) return [];
    p = args.next;
  }
}

/** The `-@:+!` prefixes of a command's first word (each once; one of `+`, `!`, `!!`), and its path. */
function execPrefixes(word: string): { flags: ReadonlySet<string>; path: string } {
  const flags = new Set<string>();
  let f = word;
  for (;;) {
    const c = f.charAt(0);
    const privilege = flags.has("+") || flags.has("!") || flags.has("!!");
    if (c === "-" && !flags.has("-")) flags.add("-");
    else if (c === "@" && !flags.has("@")) flags.add("@");
    else if (c === ":" && !flags.has(":")) flags.add(":");
    else if (c === "+" && !privilege) flags.add("+");
    else if (c === "!" && !privilege) flags.add("!");
    else if (c === "!" && flags.has("!") && !flags.has("!!")) flags.add("!!");
    else break;
    f = f.slice(1);
  }
  return { flags, path: specifiers(f) };
}

/** Empty, unsafe, a directory, or neither absolute nor a plain file name. */
function isBadExecutable(path: string): boolean {
  const relative = !path.startsWith("/") && (path.includes("/") || /^\.\.?$/.test(path));
  return path === "" || !isSafe(path) || path.endsWith("/") || relative;
}

/** The words after the executable, up to a lone `;` (`more`: another command follows at `next`). */
function execArguments(
  value: string,
  from: number,
): { words: string[]; more: boolean; next: number } | "unbalanced" {
  const words: string[] = [];
  let p = from;
  while (p < value.length) {
    if (value[p] === ";" && (p + 1 === value.length || isSpace(value[p + 1]))) {
      return { words, more: true, next: skipSpace(value, p + 1) };
    }
    // `\;` alone is a literal `;` word (other spellings of it are not).
    if (value.startsWith("\\;", p) && (p + 2 === value.length || isSpace(value[p + 2]))) {
      p = skipSpace(value, p + 2);
      words.push(";");
      continue;
    }
    const w = extractFirstWord(value, p, execWords);
    if (w === null) break;
    if (w === "unbalanced") return w;
    words.push(specifiers(w.word));
    p = w.next;
  }
  return { words, more: false, next: p };
}

/** config_parse_environ: quoted `NAME=value` words; a syntax error drops the rest of the line. */
function parseEnvironment(s: ServiceState, value: string): void {
  if (value === "") {
    s.environment = [];
    return;
  }
  for (let p = 0; ;) {
    const w = extractFirstWord(value, p, environmentWords);
    if (w === null || w === "unbalanced") return;
    p = w.next;
    const word = specifiers(w.word);
    const eq = word.indexOf("=");
    const name = word.slice(0, eq);
    // "Invalid environment assignment, ignoring"
    if (eq === -1 || !isEnvName(name) || !isSystemdText(word)) continue;
    const i = s.environment.findIndex(([n]) => n === name);
    if (i === -1) s.environment.push([name, word.slice(eq + 1)]);
    else s.environment[i] = [name, word.slice(eq + 1)];
  }
}

/** config_parse_unit_env_file: the whole value is one path; relative or `..` paths are ignored. */
function parseEnvironmentFile(s: ServiceState, value: string): void {
  if (value === "") {
    s.environmentFiles = [];
    return;
  }
  const v = specifiers(value);
  const optional = v.startsWith("-");
  const raw = optional ? v.slice(1) : v;
  const parts = raw.split("/").filter((c) => c !== "" && c !== ".");
  if (!raw.startsWith("/") || parts.includes("..")) return; // path_simplify_and_warn
  s.environmentFiles.push({ path: `/${parts.join("/")}`, optional });
}

// ---------------------------------------------------------------------------------------------
// Where the command line takes its words from

/** A word of ExecStart= after argv[0], as systemd expands it at each start (replace_env_argv). */
export type CommandWord =
  /** Passed as is (`$$` already made `$`). */
  | { readonly kind: "literal"; readonly text: string }
  /** `$VAR` as a whole word: its value split at whitespace, quotes removed: zero or more words. */
  | { readonly kind: "split"; readonly variable: string }
  /** A word with `${VAR}` in it: exactly one word, each value inserted as it is, spaces and all. */
  | {
      readonly kind: "joined";
      readonly parts: readonly (string | { readonly variable: string })[];
    };

export interface CommandLineSources {
  readonly executable: string;
  /** argv[1…], in order. */
  readonly words: readonly CommandWord[];
  /** The literal words: flags written on the ExecStart= line itself. */
  readonly literalWords: readonly string[];
  /** Every variable use, in order; `split` for `$VAR`, not for `${VAR}`. */
  readonly variables: readonly { readonly name: string; readonly split: boolean }[];
  /** Environment= values; a variable set by an environment file takes the file's (last) value. */
  readonly environment: readonly (readonly [string, string])[];
  readonly environmentFiles: readonly EnvironmentFileRef[];
}

/** The command line's sources of words: the words written on it and the variables it expands. */
export function commandLineSources(service: EffectiveService): CommandLineSources | null {
  if (service.execStart === null) return null;
  const [executable = "", ...args] = service.execStart;
  const words: CommandWord[] = [];
  for (const w of args) {
    if (!service.expandsVariables) words.push({ kind: "literal", text: w });
    else if (w.startsWith("$") && w[1] !== "{" && w[1] !== "$") {
      // An invalid name (`$1X`, a lone `$`) is never set, so the word expands to nothing.
      if (isEnvName(w.slice(1))) words.push({ kind: "split", variable: w.slice(1) });
    } else words.push(expandInWord(w));
  }
  return {
    executable,
    words,
    literalWords: words.flatMap((w) => (w.kind === "literal" ? [w.text] : [])),
    variables: words.flatMap((w): { name: string; split: boolean }[] => {
      if (w.kind === "split") return [{ name: w.variable, split: true }];
      if (w.kind === "literal") return [];
      return w.parts.flatMap((p) =>
        typeof p === "string" ? [] : [{ name: p.variable, split: false }],
      );
    }),
    environment: service.environment,
    environmentFiles: service.environmentFiles,
  };
}

/** replace_env_full without extensions: `${NAME}` is the value, `$$` is `$`, `${A:-b}` stays. */
function expandInWord(w: string): CommandWord {
  const parts: (string | { variable: string })[] = [];
  let text = "";
  let close = -2; // the first `}` after the last `${` seen (a cache: one scan in all)
  for (let i = 0; i < w.length; i++) {
    if (w.startsWith("${", i) && close !== -1 && close < i + 2) close = w.indexOf("}", i + 2);
    const name = w.startsWith("${", i) && close !== -1 ? w.slice(i + 2, close) : ":";
    if (w.startsWith("$$", i)) text += w.charAt(i++);
    else if (name.includes(":"))
      text += w.charAt(i); // not a reference, kept as written
    else {
      if (isEnvName(name)) {
        parts.push(text, { variable: name });
        text = "";
      } // an invalid name is never set: it expands to ""
      i = close;
    }
  }
  if (parts.length === 0) return { kind: "literal", text };
  return { kind: "joined", parts: [...parts, text].filter((p) => p !== "") };
}
