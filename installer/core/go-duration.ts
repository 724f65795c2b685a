/**
 * Go's `time.ParseDuration` and `Duration.String`, because `defaultCacheDuration` is a
 * `metav1.Duration` and the kubelet refuses to start on a value Go cannot parse.
 * Values are nanoseconds as bigint: int64 nanoseconds do not fit a JS number exactly.
 */

const unitNanos: ReadonlyMap<string, bigint> = new Map([
  ["ns", 1n],
  ["us", 1_000n],
  ["\u00b5s", 1_000n], // U+00B5 micro sign
  ["\u03bcs", 1_000n], // U+03BC Greek small letter mu
  ["ms", 1_000_000n],
  ["s", 1_000_000_000n],
  ["m", 60_000_000_000n],
  ["h", 3_600_000_000_000n],
]);

const maxInt64 = (1n << 63n) - 1n;

export type DurationResult =
  { readonly ok: true; readonly nanos: bigint } | { readonly ok: false; readonly error: string };

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/** Mirrors time.ParseDuration (Go 1.22+), including its overflow checks and messages. */
export function parseGoDuration(input: string): DurationResult {
  const quoted = JSON.stringify(input);
  const invalid: DurationResult = { ok: false, error: `time: invalid duration ${quoted}` };
  let s = input;
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
    let i = 0;
    let whole = 0n;
    while (isDigit(s[i])) {
      whole = whole * 10n + BigInt(Number(s[i]));
      if (whole > 1n << 63n) return invalid; // leadingInt overflow
      i++;
    }
    const hadWhole = i > 0;
    s = s.slice(i);
    let frac = 0n;
    let scale = 1n;
    let hadFrac = false;
    if (s[0] === ".") {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s[j])) {
        if (!overflow) {
          const next = frac * 10n + BigInt(Number(s[j]));
          if (next > 1n << 63n) overflow = true;
          else {
            frac = next;
            scale *= 10n;
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
    if (u === 0) return { ok: false, error: `time: missing unit in duration ${quoted}` };
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = unitNanos.get(unitName);
    if (unit === undefined) {
      return {
        ok: false,
        error: `time: unknown unit ${JSON.stringify(unitName)} in duration ${quoted}`,
      };
    }
    if (whole > (1n << 63n) / unit) return invalid;
    let v = whole * unit;
    if (frac > 0n) {
      // Go computes this part in float64; integer maths gives the same result for any
      // fraction short enough to be written by a person.
      v += (frac * unit) / scale;
      if (v > 1n << 63n) return invalid;
    }
    total += v;
    if (total > 1n << 63n) return invalid;
  }
  if (neg) return { ok: true, nanos: -total };
  if (total > maxInt64) return invalid;
  return { ok: true, nanos: total };
}

function fraction(v: bigint, digits: number): string {
  const text = v.toString().padStart(digits, "0").replace(/0+$/, "");
  return text === "" ? "" : `.${text}`;
}

/** Duration.String: `1h2m3.5s`, `-1m0s`, `1.5ms`, `0s`. Used only in messages. */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return "0s";
  const neg = nanos < 0n;
  const u = neg ? -nanos : nanos;
  const sign = neg ? "-" : "";
  if (u < 1_000_000_000n) {
    if (u < 1_000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) return `${sign}${u / 1_000n}${fraction(u % 1_000n, 3)}\u00b5s`;
    return `${sign}${u / 1_000_000n}${fraction(u % 1_000_000n, 6)}ms`;
  }
  const seconds = u / 1_000_000_000n;
  const secText = `${seconds % 60n}${fraction(u % 1_000_000_000n, 9)}s`;
  const minutes = seconds / 60n;
  if (minutes === 0n) return `${sign}${secText}`;
  const hours = minutes / 60n;
  if (hours === 0n) return `${sign}${minutes % 60n}m${secText}`;
  return `${sign}${hours}h${minutes % 60n}m${secText}`;
}
