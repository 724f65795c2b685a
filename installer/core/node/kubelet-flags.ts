import { utf8ByteString } from "../../../provider/core/utf8.ts";
import { problem, type Problem, type Result } from "../problems.ts";
import {
  asText,
  current,
  dialects,
  isControl,
  loadEnvironmentFile,
  quoted,
  scan,
  splitWords,
  type LocatedAssignment,
  type Word,
} from "./systemd-env-file.ts";

/**
 * In-place edit of the environment file that carries the kubelet's extra flags
 * (`/etc/sysconfig/kubelet`, `/etc/default/kubelet`: `KUBELET_EXTRA_ARGS=...`).
 *
 * Why in place rather than a systemd drop-in: systemd lets an `EnvironmentFile=` value win
 * over `Environment=`, so a drop-in setting KUBELET_EXTRA_ARGS is silently lost whenever the
 * env file assigns it (the RPM ships `KUBELET_EXTRA_ARGS=`).
 *
 * The file is read exactly as systemd reads it, and every text here is a byte string (one char
 * per byte, `byte-string.ts`): host files need not be UTF-8, and every byte we do not own comes
 * back as it was. Only the span of an assignment of the variable is ever rewritten, and only
 * when its words change: our flags are taken out of the bytes that hold them and appended in the
 * quoting of the value's last part, so removing them gives back the bytes from before we added
 * them; a value whose structure defeats that is rewritten whole, canonically. Every edit is then
 * read back under each systemd generation below and refused unless all of them see the other
 * variables unchanged and this one as intended.
 *
 * How systemd reads the file and splits the value into words: systemd-env-file.ts.
 *
 * The unit expands the variable unquoted (`$KUBELET_EXTRA_ARGS` on the kubeadm ExecStart line),
 * which systemd splits into words with extract_first_word(WHITESPACE, EXTRACT_RELAX |
 * EXTRACT_UNQUOTE) (src/basic/env-util.c `replace_env_argv`): whitespace separates words; `'`
 * and `"` quote (and are removed); `\` takes the next char literally, inside quotes too; an
 * unbalanced quote or trailing backslash ends the word. The kubelet parses those words with
 * pflag and WordSepNormalizeFunc (`_` in a flag name reads as `-`): the last occurrence of a
 * flag wins, `--flag v` takes the next word whatever it is, `--` ends the flags.
 * KUBELET_EXTRA_ARGS is the last variable on the kubeadm ExecStart line, so our flags go at
 * the end of its last assignment.
 */

export const configFlag = "--image-credential-provider-config";
export const binDirFlag = "--image-credential-provider-bin-dir";

export interface ProviderFlags {
  readonly configPath: string;
  readonly binDir: string;
}

/** Renders our two flags, sorted, as they appear in the value. */
export function renderFlags(flags: ProviderFlags): string {
  return `${binDirFlag}=${flags.binDir} ${configFlag}=${flags.configPath}`;
}

interface FlagHit {
  readonly flag: typeof configFlag | typeof binDirFlag;
  readonly value: string;
  /** The words that hold it: `--flag=v`, or `--flag` and `v`. */
  readonly words: readonly number[];
}

const normalizedFlag = (name: string): string => name.replaceAll("_", "-");

/** Our two flags among the words, as pflag (with the kubelet's WordSepNormalizeFunc) reads them. */
function providerFlagHits(words: readonly string[]): FlagHit[] {
  const hits: FlagHit[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? "";
    if (w === "--") break;
    if (!w.startsWith("--")) continue;
    const eq = w.indexOf("=");
    const name = `--${normalizedFlag(eq === -1 ? w.slice(2) : w.slice(2, eq))}`;
    if (name !== configFlag && name !== binDirFlag) continue;
    if (eq !== -1) hits.push({ flag: name, value: w.slice(eq + 1), words: [i] });
    else if (i + 1 < words.length) {
      hits.push({ flag: name, value: words[i + 1] ?? "", words: [i, i + 1] });
      i++;
    } else hits.push({ flag: name, value: "", words: [i] }); // pflag: "flag needs an argument"
  }
  return hits;
}

function withoutProviderFlags(words: readonly string[]): string[] {
  const drop = new Set(providerFlagHits(words).flatMap((h) => h.words));
  return words.filter((_, i) => !drop.has(i));
}

/**
 * The chars of the value to delete to take out the given words: a run of them goes with the
 * whitespace before it, or after it when it starts the value, so what stays reads as before.
 */
function deletions(words: readonly Word[], drop: ReadonlySet<number>): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < words.length; i++) {
    if (!drop.has(i)) continue;
    let j = i;
    while (drop.has(j + 1)) j++;
    const first = words[i];
    const last = words[j];
    const before = words[i - 1];
    const after = words[j + 1];
    if (first === undefined || last === undefined) break;
    if (before !== undefined) out.push([before.end, last.end]);
    else if (after !== undefined) out.push([first.start, after.start]);
    else out.push([first.start, last.end]);
    i = j;
  }
  return out;
}

/**
 * The words the kubelet gets from `$variable`, or null when systemd does not set it (never
 * assigned, last assigned something invalid, or the file does not load). Text: systemd only
 * loads files whose keys and values are UTF-8. `text` is the file as a byte string.
 */
export function readFlagValues(text: string, variable: string): string[] | null {
  const loaded = loadEnvironmentFile(text);
  if (!loaded.ok) return null;
  const value = loaded.env.get(variable);
  return value === undefined ? null : splitWords(value).map((w) => asText(w.text));
}

/** The provider flags in the kubelet's words (pflag: each flag's last occurrence). */
export function providerFlagsIn(words: readonly string[]): {
  configPath: string | null;
  binDir: string | null;
} {
  let configPath: string | null = null;
  let binDir: string | null = null;
  for (const hit of providerFlagHits(words)) {
    if (hit.flag === configFlag) configPath = hit.value;
    else binDir = hit.value;
  }
  return { configPath, binDir };
}

/**
 * The values of our two flags as the kubelet sees them: the variable's last assignment, each
 * flag's last occurrence (`--flag=v` or `--flag v`). `text` is the file as a byte string.
 */
export function readProviderFlags(
  text: string,
  variable: string,
): { configPath: string | null; binDir: string | null } {
  return providerFlagsIn(readFlagValues(text, variable) ?? []);
}

/**
 * A value (byte string, as systemd sees it) without our flags (`--flag=v`, `--flag v`,
 * repeated) and, if given, with the new ones appended.
 */
export function editFlagValue(inner: string, flags: ProviderFlags | null): string {
  const words = splitWords(inner);
  const drop = new Set(providerFlagHits(words.map((w) => w.text)).flatMap((h) => h.words));
  let out = inner;
  for (const [from, to] of deletions(words, drop).reverse()) {
    out = out.slice(0, from) + out.slice(to);
  }
  if (flags === null) return out;
  const ours = ourWords(flags).join(" ");
  return out === "" ? ours : `${out} ${ours}`;
}

// ---------------------------------------------------------------------------------------------
// Editing

function ourWords(flags: ProviderFlags): string[] {
  return [
    `${binDirFlag}=${utf8ByteString(flags.binDir)}`,
    `${configFlag}=${utf8ByteString(flags.configPath)}`,
  ];
}

/** Our values go into the file verbatim, so they must read the same in every quoting. */
function checkFlagValues(flags: ProviderFlags, path: string): Problem[] {
  const problems: Problem[] = [];
  for (const [flag, value] of [
    [binDirFlag, flags.binDir],
    [configFlag, flags.configPath],
  ] as const) {
    if (value === "" || /[\s'"\\]/.test(value) || Array.from(value).some(isControl)) {
      problems.push(
        problem(
          path,
          `${flag}=${JSON.stringify(value)}: a path for the kubelet's flags must be non-empty and hold no whitespace, quotes, backslashes or control characters (systemd splits the variable into words)`,
        ),
      );
    }
  }
  return problems;
}

const splice = (s: string, from: number, to: number, insert: string): string =>
  s.slice(0, from) + insert + s.slice(to);

const sameWords = (a: readonly string[] | null, b: readonly string[] | null): boolean =>
  (a ?? []).length === (b ?? []).length && (a ?? []).every((w, i) => w === (b ?? [])[i]);

/** The line ending the file uses: CRLF if its last line break is one. */
function eolOf(text: string): string {
  const lf = text.lastIndexOf("\n");
  return lf > 0 && text.charAt(lf - 1) === "\r" ? "\r\n" : "\n";
}

function appendAssignment(text: string, variable: string, ours: string): string {
  const line = `${variable}="${ours}"`;
  if (text === "") return `${line}\n`;
  // A file without a final newline keeps that style, which also makes the append reversible.
  return text.endsWith("\n") ? `${text}${line}${eolOf(text)}` : `${text}${eolOf(text)}${line}`;
}

function insertInto(text: string, a: LocatedAssignment, ours: string): string {
  // `K=""` gets `" ours"`, not `"ours"`, which is what appending `K="ours"` to a file without K
  // writes: removal must be able to tell which it was.
  const sep = a.value !== "" || text.charAt(a.appendAt) === '"' ? " " : "";
  return splice(text, a.appendAt, a.appendAt, sep + ours);
}

/** A word list as an env-file value that every generation reads back as those words. */
function renderValue(words: readonly string[]): string {
  const value = words
    .map((w) => (w === "" ? "''" : w.replace(/[\\'" \t\n\r]/g, (c) => `\\${c}`)))
    .join(" ");
  if (!value.includes("\\")) return `"${value.replaceAll('"', '\\"')}"`;
  // A backslash in double quotes reads differently across generations; single quotes are literal.
  return value
    .split("'")
    .map((piece) => (piece === "" ? "" : `'${piece}'`))
    .join(`"'"`);
}

function assignmentAt(text: string, start: number, key: string): LocatedAssignment | undefined {
  return scan(text, current).find((a) => a.start === start && a.key === key);
}

/** Whether the assignment that starts where `a` does in `text` now holds exactly `words`. */
function splitsInto(text: string, a: LocatedAssignment, words: readonly string[]): boolean {
  const back = assignmentAt(text, a.start, a.key);
  return (
    back !== undefined &&
    sameWords(
      splitWords(back.value).map((w) => w.text),
      words,
    )
  );
}

/**
 * The assignment without the insert an earlier edit made (the bytes from before it), if it is
 * exactly that: our two flags last, as renderFlags writes them, and nowhere else.
 */
function withoutOurInsert(
  text: string,
  a: LocatedAssignment,
  words: readonly Word[],
  only: boolean,
): string | null {
  const texts = words.map((w) => w.text);
  const hits = providerFlagHits(texts);
  const n = texts.length;
  const [bin, config] = [texts[n - 2] ?? "", texts[n - 1] ?? ""];
  if (
    hits.length !== 2 ||
    !bin.startsWith(`${binDirFlag}=`) ||
    !config.startsWith(`${configFlag}=`)
  ) {
    return null;
  }
  const ours = `${bin} ${config}`;
  const candidates: string[] = [];
  if (only && text.slice(a.start, a.end) === `${a.key}="${ours}"`) {
    // A line we appended: the file without it (and without the line break we added).
    const before = text.slice(0, a.start);
    if (before === "" || before.endsWith("\n")) candidates.push(before);
    if (a.end === text.length && before.endsWith("\n")) {
      candidates.push(before.slice(0, before.endsWith("\r\n") ? -2 : -1));
    }
    for (const c of candidates) {
      if (
        !scan(c, current).some((x) => x.key === a.key) &&
        appendAssignment(c, a.key, ours) === text
      ) {
        return c;
      }
    }
  }
  for (const inserted of [` ${ours}`, ours]) {
    if (text.slice(a.appendAt - inserted.length, a.appendAt) !== inserted) continue;
    const c = splice(text, a.appendAt - inserted.length, a.appendAt, "");
    const back = assignmentAt(c, a.start, a.key);
    if (back !== undefined && insertInto(c, back, ours) === text) return c;
  }
  return null;
}

/** The assignment without the given words, deleting only the bytes that hold them. */
function withoutWords(
  text: string,
  a: LocatedAssignment,
  words: readonly Word[],
  drop: ReadonlySet<number>,
): string | null {
  let out = text;
  for (const [from, to] of deletions(words, drop).reverse()) {
    const first = a.sources[from];
    const last = a.sources[to - 1];
    if (first === undefined || last === undefined) return null;
    out = splice(out, first[0], last[1], "");
  }
  const kept = words.filter((_, i) => !drop.has(i)).map((w) => w.text);
  return splitsInto(out, a, kept) ? out : null;
}

/** One assignment of the variable with our flags taken out and, if given, appended. */
function editAssignment(
  text: string,
  a: LocatedAssignment,
  ours: readonly string[] | null,
  only: boolean,
  canonical: boolean,
): string {
  const words = splitWords(a.value);
  const texts = words.map((w) => w.text);
  const drop = new Set(providerFlagHits(texts).flatMap((h) => h.words));
  const want = [...texts.filter((_, i) => !drop.has(i)), ...(ours ?? [])];
  if (sameWords(texts, want)) return text;
  const rewritten = splice(text, a.start, a.end, `${a.key}=${renderValue(want)}`);
  if (canonical) return rewritten;
  const taken =
    drop.size === 0
      ? text
      : (withoutOurInsert(text, a, words, only) ?? withoutWords(text, a, words, drop));
  if (taken === null) return rewritten;
  if (ours === null) return taken;
  const back = assignmentAt(taken, a.start, a.key);
  if (back === undefined) return appendAssignment(taken, a.key, ours.join(" ")); // we took the line
  const added = insertInto(taken, back, ours.join(" "));
  return splitsInto(added, a, want) ? added : rewritten;
}

function rewrite(
  text: string,
  variable: string,
  ours: readonly string[] | null,
  canonical: boolean,
): string {
  const mine = scan(text, current).filter((a) => a.key === variable);
  if (mine.length === 0)
    return ours === null ? text : appendAssignment(text, variable, ours.join(" "));
  let out = text;
  // Last first: an edit never moves the bytes of an earlier assignment.
  for (let i = mine.length - 1; i >= 0; i--) {
    const a = mine[i];
    if (a === undefined) continue;
    const last = i === mine.length - 1;
    out = editAssignment(out, a, last ? ours : null, mine.length === 1, canonical);
  }
  return out;
}

const shown = (words: readonly string[] | null): string =>
  words === null ? "unset" : JSON.stringify(words.map(asText));

/**
 * Problems unless every generation of systemd reads `after` as `before` with our flags taken
 * out of the variable (and ours appended, when given), every other variable unchanged.
 */
function verify(
  before: string,
  after: string,
  variable: string,
  ours: readonly string[] | null,
  path: string,
): Problem[] {
  const last = scan(after, current).filter((a) => a.key === variable);
  const where = `${path}:${String(last[last.length - 1]?.line ?? 1)}`;
  for (const d of dialects) {
    const was = loadEnvironmentFile(before, d);
    const is = loadEnvironmentFile(after, d);
    if (!is.ok) {
      if (!was.ok && ours === null) continue; // never loaded: nothing of ours to take out
      return [
        problem(
          `${path}:${String(is.line)}`,
          `${d.name} does not load this file: ${is.reason}${ours === null ? "" : `, so the kubelet would not get ${variable}`}; fix the file and re-run`,
        ),
      ];
    }
    if (!was.ok) {
      return [problem(path, `editing ${variable} would change whether ${d.name} loads this file`)];
    }
    for (const key of new Set([...was.env.keys(), ...is.env.keys()])) {
      if (key !== variable && was.env.get(key) !== is.env.get(key)) {
        const theirs = scan(before, d).filter((a) => a.key === key);
        return [
          problem(
            `${path}:${String(theirs[theirs.length - 1]?.line ?? 1)}`,
            `editing ${variable} would change how ${d.name} reads ${quoted(key)}, whose value runs on to the end of the file (an open quote or a trailing backslash); end it and re-run`,
          ),
        ];
      }
    }
    const wordsOf = (env: ReadonlyMap<string, string>): string[] | null => {
      const v = env.get(variable);
      return v === undefined ? null : splitWords(v).map((w) => w.text);
    };
    const had = wordsOf(was.env);
    const has = wordsOf(is.env);
    const want =
      ours === null
        ? had === null
          ? null
          : withoutProviderFlags(had)
        : [...withoutProviderFlags(had ?? []), ...ours];
    if (!sameWords(has, want)) {
      return [
        problem(
          where,
          `${d.name} would read ${variable} as ${shown(has)}, not ${shown(want)}; nodecred does not guess which the kubelet gets: make the file read the same in every systemd version (no backslash ending a comment, no backslash escapes in double quotes) and re-run`,
        ),
      ];
    }
  }
  return [];
}

/**
 * Returns the new file text. `text` is the file as a byte string (`byteString(bytes)`; null:
 * the file does not exist), and so is the result (`bytesOf(result)`). `flags` null removes our
 * flags (uninstall). Idempotent; removing gives back the bytes from before adding, when nothing
 * else changed in between.
 */
export function editKubeletFlagsFile(
  text: string | null,
  variable: string,
  flags: ProviderFlags | null,
  path: string,
): Result<string> {
  if (flags !== null) {
    const problems = checkFlagValues(flags, path);
    if (problems.length > 0) return { ok: false, problems };
  }
  const ours = flags === null ? null : ourWords(flags);
  if (text === null) {
    return { ok: true, value: ours === null ? "" : `${variable}="${ours.join(" ")}"\n` };
  }
  const words = readFlagValues(text, variable);
  if (ours !== null && words !== null && withoutProviderFlags(words).includes("--")) {
    return {
      ok: false,
      problems: [
        problem(
          path,
          `${variable} holds "--", after which the kubelet takes no flags; remove it and re-run`,
        ),
      ],
    };
  }
  let problems: Problem[] = [];
  for (const canonical of [false, true]) {
    const after = rewrite(text, variable, ours, canonical);
    problems = verify(text, after, variable, ours, path);
    if (problems.length === 0) return { ok: true, value: after };
  }
  return { ok: false, problems };
}
