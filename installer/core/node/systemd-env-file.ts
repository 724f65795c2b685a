import { decodeUtf8 } from "../../../provider/core/utf8.ts";
import { extractFirstWord, whitespace, type ExtractFlags } from "./extract-word.ts";

/**
 * systemd's `EnvironmentFile=` reader and its `$VAR` word splitting, as pure functions over byte
 * strings (one char per byte, `byte-string.ts`). Tests compare this reader with systemd's own
 * where a systemd binary is on the machine (test/installer/kubelet-flags.test.ts).
 *
 * How systemd reads it, from its source (src/basic/env-file.c `parse_env_file_internal`,
 * `load_env_file`; src/basic/env-util.c; src/core/execute.c `exec_context_load_environment`):
 * - Bytes are read one at a time through a state machine; "newline" is LF or CR (so CRLF is a
 *   line end plus a blank), whitespace is space, tab, LF, CR.
 * - Before a key, whitespace is skipped; `#` or `;` there starts a comment up to the next newline.
 * - The key runs to `=`; whitespace inside it is kept, trailing whitespace trimmed. A newline
 *   before `=` drops the line. So `export KEY=v` assigns the key `export KEY`, which is not a
 *   valid name and is dropped: systemd ignores it (checked against systemd 252's
 *   environment.d generator, which logs `invalid variable name "export D"`).
 * - After `=`, whitespace is skipped. `'` opens a literal segment (newlines included) up to the
 *   next `'`; `"` opens a segment in which `\` + one of `"\`$` gives that char, `\` + LF is
 *   dropped (a continuation), and `\` + anything else (CR too) is kept as both chars. After a
 *   closing quote, whitespace is skipped again and another segment may follow: `"a" 'b'c` is
 *   `abc`. Anything else starts a bare segment: `\` + char gives the char, `\` + newline is a
 *   continuation, quotes and `#` are ordinary chars, the first newline ends the value and
 *   trailing whitespace is trimmed. There are no comments after a value.
 * - An unterminated quote runs to the end of the file (the value is what was read).
 * - The last assignment of a key replaces earlier ones; afterwards an invalid name (letters,
 *   digits, `_`, not starting with a digit) or value drops the entry, so an invalid last
 *   assignment unsets the variable.
 * - A file with a NUL byte, or with a key or value that is not UTF-8 (comments may be anything),
 *   fails to load as a whole: read_full_stream refuses embedded NULs, check_utf8ness_and_warn
 *   fails the parse (systemd's UTF-8 also refuses U+FDD0..U+FDEF and U+xFFFE/U+xFFFF; checked
 *   against systemd 252). With `EnvironmentFile=-...` the unit then starts without it.
 * Generations still on supported nodes read some files differently, so each is checked:
 * before 254 a comment ending in `\` swallows the next line (the "since v254" message in
 * env-file.c); older releases kept the backslash in front of every char but `"` inside double
 * quotes and also ate `\` + CR, and 239 dropped the backslash in front of any char there
 * (systemd issue #10659); before 248 values with control chars other than tab and LF were
 * invalid (systemd PR #18129; LF allowed since 239, PR #8471).
 *
 */

// ---------------------------------------------------------------------------------------------
// systemd's EnvironmentFile= reader

export const newline = "\n\r";
export const comments = "#;";
export const shellNeedEscape = '"\\`$';

/** One generation of systemd's reader; the first is the current one. */
export interface Dialect {
  readonly name: string;
  readonly commentContinues: boolean;
  /** `\` + char inside double quotes: shell = only "\`$ unescaped; quote = only `"`; any = all. */
  readonly doubleQuoteEscape: "shell" | "quote" | "any";
  readonly controlCharsInValues: "any" | "tab-newline";
}

export const current: Dialect = {
  name: "systemd",
  commentContinues: false,
  doubleQuoteEscape: "shell",
  controlCharsInValues: "any",
};

export const dialects: readonly Dialect[] = [
  current,
  {
    name: "systemd before 254 (where a comment ending in a backslash continues on the next line)",
    commentContinues: true,
    doubleQuoteEscape: "shell",
    controlCharsInValues: "any",
  },
  {
    name: 'older systemd (where a backslash in double quotes is kept unless before ", and a value with control characters other than tab and newline is dropped)',
    commentContinues: true,
    doubleQuoteEscape: "quote",
    controlCharsInValues: "tab-newline",
  },
  {
    name: "systemd 239 (where a backslash in double quotes escapes any character)",
    commentContinues: true,
    doubleQuoteEscape: "any",
    controlCharsInValues: "tab-newline",
  },
];

/** An assignment as systemd reads it. Texts are byte strings. */
export interface EnvAssignment {
  /** The key, trailing whitespace trimmed (not necessarily a valid name). */
  readonly key: string;
  /** The value as systemd sees it. */
  readonly value: string;
  /** The file's bytes [start, end): from the key's first byte to the newline (or EOF) ending it. */
  readonly start: number;
  readonly end: number;
  /** 1-based line of `start`. */
  readonly line: number;
}

export interface LocatedAssignment extends EnvAssignment {
  /** For each char of the value, the bytes [from, to) of the file it was read from. */
  readonly sources: readonly (readonly [number, number])[];
  /** Where text added to the value continues its last part (inside its quotes, if any). */
  readonly appendAt: number;
}

export type State =
  | "preKey"
  | "key"
  | "preValue"
  | "value"
  | "valueEscape"
  | "single"
  | "double"
  | "doubleEscape"
  | "comment"
  | "commentEscape";

export const valueStates: ReadonlySet<State> = new Set([
  "preValue",
  "value",
  "valueEscape",
  "single",
  "double",
  "doubleEscape",
]);

/** systemd's locals in parse_env_file_internal, and where each char of the value was read. */
interface Reader {
  readonly dialect: Dialect;
  readonly out: LocatedAssignment[];
  state: State;
  line: number;
  key: string;
  keyStart: number;
  keyLine: number;
  /** Where the key's trailing whitespace starts (-1: none yet): last_key_whitespace. */
  lastKeyWhitespace: number;
  value: string;
  sources: (readonly [number, number])[];
  /** Where the value's trailing whitespace starts (-1: none yet): last_value_whitespace. */
  lastValueWhitespace: number;
  appendAt: number;
}

/** What one state does with the byte `c` at `p`; returns the next state. */
type Step = (r: Reader, c: string, p: number) => State;

function addChar(r: Reader, c: string, from: number, to: number): void {
  r.value += c;
  r.sources.push([from, to]);
}

/** Drops the value's trailing whitespace (a bare value's, at its end). */
function chomp(r: Reader): void {
  if (r.lastValueWhitespace === -1) return;
  r.value = r.value.slice(0, r.lastValueWhitespace);
  r.sources = r.sources.slice(0, r.lastValueWhitespace);
}

/** The assignment just read, ending at `end`. */
function pushAssignment(r: Reader, end: number): void {
  r.out.push({
    key: r.lastKeyWhitespace === -1 ? r.key : r.key.slice(0, r.lastKeyWhitespace),
    value: r.value,
    start: r.keyStart,
    end,
    line: r.keyLine,
    sources: r.sources,
    appendAt: r.appendAt,
  });
}

/** PRE_KEY: whitespace is skipped, `#` or `;` starts a comment, anything else a key. */
const inPreKey: Step = (r, c, p) => {
  if (comments.includes(c)) return "comment";
  if (whitespace.includes(c)) return "preKey";
  r.key = c;
  r.keyStart = p;
  r.keyLine = r.line;
  r.lastKeyWhitespace = -1;
  return "key";
};

/** KEY: up to `=`; a newline drops the line; whitespace is kept, trailing whitespace noted. */
const inKey: Step = (r, c, p) => {
  if (newline.includes(c)) return "preKey";
  if (c === "=") {
    r.value = "";
    r.sources = [];
    r.lastValueWhitespace = -1;
    r.appendAt = p + 1;
    return "preValue";
  }
  if (!whitespace.includes(c)) r.lastKeyWhitespace = -1;
  else if (r.lastKeyWhitespace === -1) r.lastKeyWhitespace = r.key.length;
  r.key += c;
  return "key";
};

/** PRE_VALUE: whitespace is skipped; a quote opens a segment; a newline ends the value. */
const inPreValue: Step = (r, c, p) => {
  if (newline.includes(c)) {
    pushAssignment(r, p);
    return "preKey";
  }
  if (c === "'") return "single";
  if (c === '"') return "double";
  if (c === "\\") return "valueEscape";
  if (whitespace.includes(c)) return "preValue";
  addChar(r, c, p, p + 1);
  r.appendAt = p + 1;
  return "value";
};

/** VALUE: a bare segment up to the newline, its trailing whitespace trimmed. */
const inValue: Step = (r, c, p) => {
  if (newline.includes(c)) {
    chomp(r);
    pushAssignment(r, p);
    return "preKey";
  }
  if (c === "\\") {
    r.lastValueWhitespace = -1;
    return "valueEscape";
  }
  if (!whitespace.includes(c)) {
    r.lastValueWhitespace = -1;
    r.appendAt = p + 1;
  } else if (r.lastValueWhitespace === -1) r.lastValueWhitespace = r.value.length;
  addChar(r, c, p, p + 1);
  return "value";
};

/** VALUE_ESCAPE: the char itself; an escaped newline is a continuation. */
const inValueEscape: Step = (r, c, p) => {
  if (!newline.includes(c)) addChar(r, c, p - 1, p + 1);
  r.appendAt = p + 1;
  return "value";
};

/** SINGLE_QUOTE_VALUE: everything up to the next `'`, newlines included. */
const inSingleQuote: Step = (r, c, p) => {
  if (c !== "'") {
    addChar(r, c, p, p + 1);
    return "single";
  }
  r.appendAt = p;
  return "preValue";
};

/** DOUBLE_QUOTE_VALUE: up to the next `"`; `\` escapes. */
const inDoubleQuote: Step = (r, c, p) => {
  if (c === '"') {
    r.appendAt = p;
    return "preValue";
  }
  if (c === "\\") return "doubleEscape";
  addChar(r, c, p, p + 1);
  return "double";
};

/** DOUBLE_QUOTE_VALUE_ESCAPE: which chars a `\` escapes, and which newline it continues, by generation. */
const inDoubleQuoteEscape: Step = (r, c, p) => {
  const rule = r.dialect.doubleQuoteEscape;
  const unescaped =
    rule === "shell" ? shellNeedEscape.includes(c) : rule === "quote" ? c === '"' : true;
  const continuation = rule === "shell" ? c === "\n" : newline.includes(c);
  if (continuation) return "double";
  if (!unescaped) addChar(r, "\\", p - 1, p + 1);
  addChar(r, c, p - 1, p + 1);
  return "double";
};

/** COMMENT: up to the newline; a `\` may carry it over (COMMENT_ESCAPE). */
const inComment: Step = (_r, c) => {
  if (c === "\\") return "commentEscape";
  return newline.includes(c) ? "preKey" : "comment";
};

/** COMMENT_ESCAPE: since 254 the escaped newline still ends the comment; before, it continues it. */
const inCommentEscape: Step = (r, c) =>
  !r.dialect.commentContinues && newline.includes(c) ? "preKey" : "comment";

const steps: Readonly<Record<State, Step>> = {
  preKey: inPreKey,
  key: inKey,
  preValue: inPreValue,
  value: inValue,
  valueEscape: inValueEscape,
  single: inSingleQuote,
  double: inDoubleQuote,
  doubleEscape: inDoubleQuoteEscape,
  comment: inComment,
  commentEscape: inCommentEscape,
};

/** At the end of the file: a value being read is what was read (an open quote runs to the end). */
function atEnd(r: Reader, end: number): void {
  if (!valueStates.has(r.state)) return;
  if (r.state === "single" || r.state === "double" || r.state === "doubleEscape") r.appendAt = end;
  if (r.state === "value") chomp(r);
  pushAssignment(r, end);
}

/**
 * parse_env_file_internal: one pass over the bytes, one state per state of systemd's machine
 * (`steps`), so the cost is linear in the file.
 */
export function scan(text: string, dialect: Dialect): LocatedAssignment[] {
  const r: Reader = {
    dialect,
    out: [],
    state: "preKey",
    line: 1,
    key: "",
    keyStart: 0,
    keyLine: 1,
    lastKeyWhitespace: -1,
    value: "",
    sources: [],
    lastValueWhitespace: -1,
    appendAt: 0,
  };
  for (let p = 0; p < text.length; p++) {
    const c = text.charAt(p);
    r.state = steps[r.state](r, c, p);
    if (c === "\n") r.line++;
  }
  atEnd(r, text.length);
  return r.out;
}

/** Every assignment in the file, as systemd reads it, in file order (the last of a key wins). */
export function parseEnvironmentFile(
  text: string,
  dialect: Dialect = current,
): readonly EnvAssignment[] {
  return scan(text, dialect).map(({ key, value, start, end, line }) => ({
    key,
    value,
    start,
    end,
    line,
  }));
}

/** systemd's utf8_is_valid on a byte string. */
export function isSystemdUtf8(s: string): boolean {
  for (let i = 0; i < s.length;) {
    const b0 = s.charCodeAt(i);
    if (b0 < 0x80) {
      i++;
      continue;
    }
    const len = (b0 & 0xe0) === 0xc0 ? 2 : (b0 & 0xf0) === 0xe0 ? 3 : (b0 & 0xf8) === 0xf0 ? 4 : 0;
    if (len === 0) return false;
    let cp = b0 & (0xff >> (len + 1));
    for (let k = 1; k < len; k++) {
      const b = s.charCodeAt(i + k); // NaN past the end fails the test
      if ((b & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    const shortest = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (shortest !== len) return false;
    if (cp >= 0x110000 || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return false;
    i += len;
  }
  return true;
}

export const isEnvName = (k: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k);

/** A control char as systemd's char_is_cc sees it. */
export const isControl = (c: string): boolean => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;

export function isEnvValue(v: string, dialect: Dialect): boolean {
  // env_value_is_valid; UTF-8 was checked when the file loaded.
  if (dialect.controlCharsInValues === "any") return true;
  return !Array.from(v).some((c) => isControl(c) && c !== "\t" && c !== "\n");
}

export type Loaded =
  | { readonly ok: true; readonly env: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly line: number; readonly reason: string };

/** load_env_file + strv_env_clean: the environment the unit gets from the file (byte strings). */
export function loadEnvironmentFile(text: string, dialect: Dialect = current): Loaded {
  const nul = text.indexOf("\0");
  if (nul !== -1) {
    return { ok: false, line: lineAt(text, nul), reason: "it holds a NUL byte" };
  }
  const env = new Map<string, string>();
  for (const a of scan(text, dialect)) {
    if (!isSystemdUtf8(a.key)) return { ok: false, line: a.line, reason: "a key is not UTF-8" };
    if (!isSystemdUtf8(a.value)) {
      return { ok: false, line: a.line, reason: `the value of ${quoted(a.key)} is not UTF-8` };
    }
    env.set(a.key, a.value);
  }
  for (const [k, v] of env) if (!isEnvName(k) || !isEnvValue(v, dialect)) env.delete(k);
  return { ok: true, env };
}

export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/** A byte string that is UTF-8 as text; else as is (one char per byte). */
export function asText(s: string): string {
  return decodeUtf8(Array.from(s, (c) => c.charCodeAt(0))) ?? s;
}

export function quoted(s: string): string {
  return JSON.stringify(asText(s));
}

// ---------------------------------------------------------------------------------------------
// The words of `$VARIABLE` and the flags in them

export interface Word {
  readonly text: string;
  /** The chars [start, end) of the value it was read from, quotes and backslashes included. */
  readonly start: number;
  readonly end: number;
}

/** No C escapes: `\` takes the next char literally, inside quotes too. */
const variableWords: ExtractFlags = { cunescape: false, unescapeRelax: false, relax: true };

/** strv_split_full(value, WHITESPACE, EXTRACT_RELAX | EXTRACT_UNQUOTE), as ExecStart's `$VAR`. */
export function splitWords(value: string): Word[] {
  const out: Word[] = [];
  for (let p = 0; ;) {
    // Relaxed, nothing fails: an open quote or a final backslash (dropped) ends the word.
    const w = extractFirstWord(value, p, variableWords);
    if (w === null || w === "unbalanced") return out;
    out.push({ text: w.word, start: w.start, end: w.end });
    p = w.next;
  }
}
