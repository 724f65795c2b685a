// Go time.Duration text: parsed from --cache-duration like time.ParseDuration, and written like
// Duration.String(), which is what metav1.Duration (cacheDuration) carries. Durations are held as
// a whole number of nanoseconds in a double, exact up to 2^53 ns (about 104 days).

function unitNs(unit: string): number | undefined {
  switch (unit) {
    case "ns":
      return 1;
    case "us":
    case "\u00b5s": // micro sign
    case "\u03bcs": // Greek mu
      return 1e3;
    case "ms":
      return 1e6;
    case "s":
      return 1e9;
    case "m":
      return 60e9;
    case "h":
      return 3600e9;
    default:
      return undefined;
  }
}

/** The largest duration we accept: exact as a double. */
export const MAX_DURATION_NS = Number.MAX_SAFE_INTEGER;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/** time.ParseDuration, restricted to non-negative values; undefined when invalid or too large. */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  // Go accepts negative durations; a negative cache duration means nothing, but "-0s" is zero.
  const negative = s.startsWith("-");
  if (negative || s.startsWith("+")) s = s.slice(1);
  if (s === "0") return 0;
  if (s === "") return undefined;
  let total = 0;
  while (s !== "") {
    let i = 0;
    while (isDigit(s[i])) i++;
    const whole = s.slice(0, i);
    let frac = "";
    if (s[i] === ".") {
      const start = ++i;
      while (isDigit(s[i])) i++;
      frac = s.slice(start, i);
    }
    if (whole === "" && frac === "") return undefined;
    let j = i;
    while (j < s.length && s[j] !== "." && !isDigit(s[j])) j++;
    const unit = unitNs(s.slice(i, j));
    if (unit === undefined) return undefined;
    // Go adds uint64(float64(f) * (float64(unit) / scale)) for the fraction.
    const fracDigits = frac.slice(0, 15);
    const fracValue =
      fracDigits === "" ? 0 : Math.floor(Number(fracDigits) * (unit / 10 ** fracDigits.length));
    total += Number(whole === "" ? "0" : whole) * unit + fracValue;
    if (!(total <= MAX_DURATION_NS)) return undefined;
    s = s.slice(j);
  }
  return negative && total !== 0 ? undefined : total;
}

function fraction(v: number, digits: number): { int: number; frac: string } {
  const scale = 10 ** digits;
  const int = Math.floor(v / scale);
  let frac = String(v % scale).padStart(digits, "0");
  while (frac.endsWith("0")) frac = frac.slice(0, -1);
  return { int, frac: frac === "" ? "" : "." + frac };
}

/** Duration.String() for a non-negative whole number of nanoseconds, e.g. 300e9 -> "5m0s". */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return "0s";
  if (ns < 1e3) return `${String(ns)}ns`;
  if (ns < 1e6) {
    const f = fraction(ns, 3);
    return `${String(f.int)}${f.frac}\u00b5s`;
  }
  if (ns < 1e9) {
    const f = fraction(ns, 6);
    return `${String(f.int)}${f.frac}ms`;
  }
  const f = fraction(ns, 9);
  let secs = f.int;
  let out = `${String(secs % 60)}${f.frac}s`;
  secs = Math.floor(secs / 60);
  if (secs > 0) {
    out = `${String(secs % 60)}m${out}`;
    const hours = Math.floor(secs / 60);
    if (hours > 0) out = `${String(hours)}h${out}`;
  }
  return out;
}
