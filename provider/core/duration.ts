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
  const invalid: DurationResult = { ok: false, error: `time: invalid duration ${goQuote(text)}` };
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
    if (!(s[0] === "." || isDigit(s[0]))) return invalid;
    // leadingInt: the whole part, an error past 2^63.
    let i = 0;
    let whole = 0n;
    while (isDigit(s[i])) {
      whole = whole * 10n + BigInt(s.charCodeAt(i) - 48);
      if (whole > TWO_63) return invalid;
      i++;
    }
    const hadWhole = i > 0;
    s = s.slice(i);
    // leadingFraction: digits past what fits in 2^63 are dropped, not an error.
    let frac = 0n;
    let scale = 1; // a float64 in Go, multiplied up the same way
    let hadFrac = false;
    if (s[0] === ".") {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s[j])) {
        if (!overflow) {
          const next = frac * 10n + BigInt(s.charCodeAt(j) - 48);
          if (next > TWO_63) overflow = true;
          else {
            frac = next;
            scale *= 10;
          }
        }
        j++;
      }
      hadFrac = j > 0;
      s = s.slice(j);
    }
    if (!hadWhole && !hadFrac) return invalid;
    let u = 0;
    while (u < s.length && s[u] !== "." && !isDigit(s[u])) u++;
    if (u === 0) return { ok: false, error: `time: missing unit in duration ${goQuote(text)}` };
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = unitNanos(unitName);
    if (unit === undefined) {
      return {
        ok: false,
        error: `time: unknown unit ${goQuote(unitName)} in duration ${goQuote(text)}`,
      };
    }
    if (whole > TWO_63 / unit) return invalid;
    let v = whole * unit;
    if (frac > 0n) {
      // Go: v += uint64(float64(f) * (float64(unit) / scale)). Number(bigint) rounds to nearest
      // like Go's conversion, so the same doubles give the same nanosecond, e.g. 0.99999999999999999999h = 1h.
      v += BigInt(Math.trunc(Number(frac) * (Number(unit) / scale)));
      if (v > TWO_63) return invalid;
    }
    total += v;
    if (total > TWO_63) return invalid;
  }
  if (neg) return { ok: true, nanos: -total };
  if (total > MAX_INT64) return invalid;
  return { ok: true, nanos: total };
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
