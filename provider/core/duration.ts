// Go's time.ParseDuration and Duration.String, the one copy for both halves of nodecred: the
// provider parses --cache-duration and writes cacheDuration (a metav1.Duration) with it, and the
// installer validates defaultCacheDuration with it, which the kubelet refuses to start on when Go
// cannot parse it. Values are int64 nanoseconds held as bigint, because a double is exact only up
// to 2^53 ns (about 104 days) and Go accepts up to 2^63-1 (about 292 years). Pure and
// QuickJS-safe: no RegExp, no Map.

import { encodeUtf8 } from "./utf8.ts";

export type DurationResult =
  { readonly ok: true; readonly nanos: bigint } | { readonly ok: false; readonly error: string };

const TWO_63 = 1n << 63n;
const MAX_INT64 = TWO_63 - 1n;

function unitNanos(unit: string): bigint | undefined {
  switch (unit) {
    case "ns":
      return 1n;
    case "us":
    case "\u00b5s": // micro sign
    case "\u03bcs": // Greek small letter mu
      return 1_000n;
    case "ms":
      return 1_000_000n;
    case "s":
      return 1_000_000_000n;
    case "m":
      return 60_000_000_000n;
    case "h":
      return 3_600_000_000_000n;
    default:
      return undefined;
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

const HEX = "0123456789abcdef";

/** The time package's own quote(): control and non-ASCII characters as \x escapes of their bytes. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x80 || cp < 0x20) {
      for (const b of encodeUtf8(ch)) out += `\\x${HEX.charAt(b >> 4)}${HEX.charAt(b & 15)}`;
    } else {
      if (ch === '"' || ch === "\\") out += "\\";
      out += ch;
    }
  }
  return out + '"';
}

/**
 * time.ParseDuration, with its overflow checks and error messages: "[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+".
 * Negative values parse (Go allows them); callers decide whether they mean anything.
 */
export function parseGoDuration(text: string): DurationResult {
  const invalid = invalidDuration(text);
  let s = text;
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return { ok: true, nanos: 0n };
  if (s === "") return invalid;
  let total = 0n;
  while (s !== "") {
    const term = parseTerm(s, text);
    if (!term.ok) return term;
    total += term.nanos;
    if (total > TWO_63) return invalid;
    s = term.rest;
  }
  if (neg) return { ok: true, nanos: -total };
  if (total > MAX_INT64) return invalid;
  return { ok: true, nanos: total };
}

function invalidDuration(text: string): { readonly ok: false; readonly error: string } {
  return { ok: false, error: `time: invalid duration ${goQuote(text)}` };
}

type Term =
  | { readonly ok: true; readonly nanos: bigint; readonly rest: string }
  | { readonly ok: false; readonly error: string };

/** One "[0-9]*(\.[0-9]*)?[a-z]+" at the start of `s` (a part of `text`), and what follows it. */
function parseTerm(s: string, text: string): Term {
  const invalid = invalidDuration(text);
  if (!(s[0] === "." || isDigit(s[0]))) return invalid;
  const whole = leadingInt(s);
  if (whole === null) return invalid;
  let rest = s.slice(whole.digits);
  let frac: Fraction = { value: 0n, scale: 1, digits: 0 };
  if (rest[0] === ".") {
    rest = rest.slice(1);
    frac = leadingFraction(rest);
    rest = rest.slice(frac.digits);
  }
  if (whole.digits === 0 && frac.digits === 0) return invalid;
  let u = 0;
  while (u < rest.length && rest[u] !== "." && !isDigit(rest[u])) u++;
  if (u === 0) return { ok: false, error: `time: missing unit in duration ${goQuote(text)}` };
  const unitName = rest.slice(0, u);
  const unit = unitNanos(unitName);
  if (unit === undefined) {
    return {
      ok: false,
      error: `time: unknown unit ${goQuote(unitName)} in duration ${goQuote(text)}`,
    };
  }
  if (whole.value > TWO_63 / unit) return invalid;
  let v = whole.value * unit;
  if (frac.value > 0n) {
    // Go: v += uint64(float64(f) * (float64(unit) / scale)). Number(bigint) rounds to nearest
    // like Go's conversion, so the same doubles give the same nanosecond, e.g. 0.99999999999999999999h = 1h.
    v += BigInt(Math.trunc(Number(frac.value) * (Number(unit) / frac.scale)));
    if (v > TWO_63) return invalid;
  }
  return { ok: true, nanos: v, rest: rest.slice(u) };
}

/** leadingInt: the whole part's digits at the start of `s`; null (an error) past 2^63. */
function leadingInt(s: string): { readonly value: bigint; readonly digits: number } | null {
  let i = 0;
  let value = 0n;
  while (isDigit(s[i])) {
    value = value * 10n + BigInt(s.charCodeAt(i) - 48);
    if (value > TWO_63) return null;
    i++;
  }
  return { value, digits: i };
}

interface Fraction {
  readonly value: bigint;
  /** 10 to the number of digits kept: a float64 in Go, multiplied up the same way. */
  readonly scale: number;
  /** Every digit read, kept or not. */
  readonly digits: number;
}

/** leadingFraction: the digits after the ".", those past what fits in 2^63 dropped, not an error. */
function leadingFraction(s: string): Fraction {
  let value = 0n;
  let scale = 1;
  let j = 0;
  let overflow = false;
  while (isDigit(s[j])) {
    if (!overflow) {
      const next = value * 10n + BigInt(s.charCodeAt(j) - 48);
      if (next > TWO_63) overflow = true;
      else {
        value = next;
        scale *= 10;
      }
    }
    j++;
  }
  return { value, scale, digits: j };
}

/** ".5", ".000001" or "" for the `digits` low decimal digits of v, trailing zeros dropped. */
function fraction(v: bigint, digits: number): string {
  let text = v.toString();
  while (text.length < digits) text = "0" + text;
  let end = text.length;
  while (end > 0 && text[end - 1] === "0") end--;
  return end === 0 ? "" : "." + text.slice(0, end);
}

/** Duration.String: "1h2m3.5s", "-1m0s", "1.5ms", "2µs", "0s". */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return "0s";
  const sign = nanos < 0n ? "-" : "";
  const u = nanos < 0n ? -nanos : nanos;
  if (u < 1_000_000_000n) {
    if (u < 1_000n) return `${sign}${u.toString()}ns`;
    if (u < 1_000_000n) return `${sign}${(u / 1_000n).toString()}${fraction(u % 1_000n, 3)}\u00b5s`;
    return `${sign}${(u / 1_000_000n).toString()}${fraction(u % 1_000_000n, 6)}ms`;
  }
  const seconds = u / 1_000_000_000n;
  const secText = `${(seconds % 60n).toString()}${fraction(u % 1_000_000_000n, 9)}s`;
  const minutes = seconds / 60n;
  if (minutes === 0n) return `${sign}${secText}`;
  const hours = minutes / 60n;
  if (hours === 0n) return `${sign}${(minutes % 60n).toString()}m${secText}`;
  return `${sign}${hours.toString()}h${(minutes % 60n).toString()}m${secText}`;
}
