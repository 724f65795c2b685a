/**
 * systemd's word splitting, as pure functions over strings: extract_first_word
 * (src/basic/extract-word.c) with EXTRACT_UNQUOTE and the flags its two callers here pass, and
 * cunescape_one (src/basic/escape.c). ExecStart= and Environment= lines are split with C escapes
 * (systemd-unit.ts); a `$VAR` on the command line is split without them, relaxed
 * (systemd-env-file.ts splitWords). One copy, as in systemd, so the two read quotes alike.
 */

/** systemd's WHITESPACE: what separates words. */
export const whitespace = " \t\n\r";

export const isSpace = (c: string | undefined): boolean =>
  c !== undefined && whitespace.includes(c);

export function skipSpace(s: string, p: number): number {
  while (isSpace(s[p])) p++;
  return p;
}

/** The extract_first_word flags besides EXTRACT_UNQUOTE (always set here). */
export interface ExtractFlags {
  /** EXTRACT_CUNESCAPE: `\n`, `\x41`, `\u00e9`… are C escapes; without it `\` + char is the char. */
  readonly cunescape: boolean;
  /** EXTRACT_UNESCAPE_RELAX: an unknown escape, or a final `\` outside quotes, is kept as written. */
  readonly unescapeRelax: boolean;
  /** EXTRACT_RELAX: an open quote or a final `\` ends the word instead of failing. */
  readonly relax: boolean;
}

/**
 * The first word at or after `from`: its text, the chars [start, end) it was read from (quotes
 * and backslashes included) and where the next one may start; null when only whitespace is left;
 * "unbalanced" where systemd fails (-EINVAL: an open quote, a bad escape).
 */
export type Extracted =
  | { readonly word: string; readonly start: number; readonly end: number; readonly next: number }
  | null
  | "unbalanced";

export function extractFirstWord(s: string, from: number, flags: ExtractFlags): Extracted {
  const start = skipSpace(s, from);
  if (start >= s.length) return null;
  let p = start;
  let word = "";
  let quote = "";
  while (p < s.length) {
    const c = s.charAt(p);
    if (c === "\\") {
      const e = escapeAt(s, p, quote, flags);
      if (e === "unbalanced") return e;
      word += e.text;
      p = e.next;
    } else if (quote !== "") {
      if (c === quote) quote = "";
      else word += c;
      p++;
    } else if (c === '"' || c === "'") {
      quote = c;
      p++;
    } else if (isSpace(c)) {
      return { word, start, end: p, next: skipSpace(s, p) };
    } else {
      word += c;
      p++;
    }
  }
  return quote !== "" && !flags.relax ? "unbalanced" : { word, start, end: p, next: p };
}

/** The backslash at `p` (inside `quote`, "" for none): what it adds to the word, and where reading goes on. */
function escapeAt(
  s: string,
  p: number,
  quote: string,
  flags: ExtractFlags,
): { text: string; next: number } | "unbalanced" {
  if (p + 1 >= s.length) {
    // A final backslash: kept, dropped, or a failure (the word ends either way).
    if (flags.unescapeRelax && (quote === "" || flags.relax)) return { text: "\\", next: s.length };
    return flags.relax ? { text: "", next: s.length } : "unbalanced";
  }
  const e = flags.cunescape ? cunescapeOne(s, p + 1) : { char: s.charAt(p + 1), length: 1 };
  if (e === null && !flags.unescapeRelax) return "unbalanced";
  return { text: e?.char ?? s.slice(p, p + 2), next: p + 1 + (e?.length ?? 1) };
}

/** cunescape_one: the char after a backslash at `p`. \x and octal give a byte (here a Latin-1 char). */
function cunescapeOne(s: string, p: number): { char: string; length: number } | null {
  const c = s.charAt(p);
  const simple = "abfnrtv\\\"'s".indexOf(c);
  if (simple !== -1) return { char: "\x07\b\f\n\r\t\v\\\"' ".charAt(simple), length: 1 };
  const octal = c >= "0" && c <= "7";
  const length = octal ? 3 : (({ x: 3, u: 5, U: 9 } as Record<string, number>)[c] ?? 0);
  const digits = s.slice(octal ? p : p + 1, p + length);
  if (length === 0 || !(octal ? /^[0-7]{3}$/ : /^[0-9a-fA-F]+$/).test(digits)) return null;
  if (digits.length !== (octal ? 3 : length - 1)) return null;
  const code = parseInt(digits, octal ? 8 : 16);
  // No NUL, no byte above 255, no invalid code point from \U.
  if (code === 0 || (octal && code > 255)) return null;
  if (c === "U" && (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))) return null;
  return { char: String.fromCodePoint(code), length };
}
