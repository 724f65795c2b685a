import { isWellFormedGlob } from "../../../provider/core/glob.ts";
import {
  parseMatchPattern,
  parseSchemelessUrl,
  type SchemelessUrlResult,
} from "../../../provider/core/url-match.ts";
import { preview, problem, quote, type Problem } from "../problems.ts";

/**
 * parseSchemelessUrl, remembered: one ConfigMap check parses each pattern several times (its own
 * checks, the envelope, the rendered config, the coverage test), and the sync loop checks the same
 * ConfigMap at every event. Bounded: cleared when full.
 */
const parsedPatterns = new Map<string, SchemelessUrlResult>();
const parsedPatternsMax = 4096;

export function parsePattern(value: string): SchemelessUrlResult {
  let r = parsedPatterns.get(value);
  if (r === undefined) {
    r = parseSchemelessUrl(value);
    if (parsedPatterns.size >= parsedPatternsMax) parsedPatterns.clear();
    parsedPatterns.set(value, r);
  }
  return r;
}

/**
 * Whether a matchImages entry passes the kubelet's check (`url.Parse("https://" + value)`),
 * using the provider's Go url.Parse port so both halves of nodecred agree on what parses.
 * Returns the error text (after the kubelet's "match image is invalid: " prefix) or null.
 */
export function matchImageError(value: string): string | null {
  const r = parsePattern(value);
  if (r.ok) return null;
  // Go's *url.Error prefix, so the text reads like the kubelet's own message.
  return `parse ${quote(`https://${value}`)}: ${r.error}`;
}

/**
 * The kubelet's refusal of a matchImages entry, in its words (config.go: `Invalid value: ...:
 * match image is invalid: ...`), or null: the one message for that rule, whether the entry is
 * the ConfigMap's or a rendered or merged config's.
 */
export function invalidMatchImage(value: string): string | null {
  const err = matchImageError(value);
  return err === null ? null : `Invalid value: ${quote(value)}: match image is invalid: ${err}`;
}

/**
 * Entries the kubelet accepts but that can never match an image (a scheme left in, a host segment
 * that is not a well-formed glob), one problem each: worth a warning wherever settings are read
 * (apply logs it, the sync container reports it on the ConfigMap), not a refusal — the kubelet
 * takes them, and an upgrade must not start refusing a ConfigMap that worked.
 */
export function matchImageWarnings(matchImages: readonly string[], path: string): Problem[] {
  return matchImages.flatMap((m, i) => {
    const r = parseMatchPattern(m);
    return r.ok
      ? r.warnings.map((w) => problem(`${path}[${String(i)}]`, `${preview(m, 200)}: ${w}`))
      : [];
  });
}

/**
 * How long an image the kubelet can pull may be, part by part. The kubelet matches patterns
 * against `reference.ParseNormalizedNamed(image).Name()` parsed as a URL: host[:port] and the
 * repository path. distribution/reference bounds the path (RepositoryNameTotalLengthMax = 255,
 * "repository name must not be more than 255 characters"; older releases bounded the whole name,
 * which is tighter); the host is bounded by DNS (RFC 1035: 63 octets a label, 253 a name), since
 * the runtime must resolve it; a port is at most 5 digits.
 */
export const imageBounds = {
  labelChars: 63,
  hostChars: 253,
  portDigits: 5,
  /** The URL path is "/" + the repository path. */
  pathChars: 1 + 255,
} as const;

/** The longest image name the kubelet can match a pattern against: host:port/path. */
export const longestImageChars =
  imageBounds.hostChars + 1 + imageBounds.portDigits + imageBounds.pathChars;

/**
 * The longest matchImages entry accepted, in characters: twice the longest image, room for glob
 * stars and %-escapes in the path. Any longer entry is refused before it is parsed (bounded work,
 * bounded messages); a shorter one only when it can never match (matchImageLimitError).
 */
export const maxMatchImageChars = 1024;

/**
 * The UTF-8 length of a string (Go's len), without encoding it; stops counting past `stopAbove`
 * (the caller only needs to know the bound is exceeded), so a huge value costs little.
 */
export function utf8ByteLength(s: string, stopAbove = Infinity): number {
  let n = 0;
  for (let i = 0; i < s.length && n <= stopAbove; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3; // a lone surrogate: Go's encoder writes U+FFFD, 3 bytes
  }
  return n;
}

/** Whether a string holds a lone surrogate (no UTF-8 encoding: not a name the kernel can hold). */
export function hasLoneSurrogate(s: string): boolean {
  return /[\uD800-\uDFFF]/u.test(s);
}

/**
 * The fewest bytes a name matched by this filepath.Match glob can have (well-formed globs only):
 * `*` none, `?`, a class or an escape one, a literal character its UTF-8 length.
 */
export function shortestGlobMatch(glob: string): number {
  let n = 0;
  let i = 0;
  while (i < glob.length) {
    const c = glob[i];
    if (c === "*") {
      i++;
    } else if (c === "\\") {
      n++;
      i += 2;
    } else if (c === "[") {
      i++;
      if (glob[i] === "^") i++;
      // Well-formed: the class closes; "]" cannot be its first member in Go.
      while (i < glob.length && glob[i] !== "]") i += glob[i] === "\\" ? 2 : 1;
      i++;
      n++;
    } else if (c === "?") {
      n++;
      i++;
    } else {
      const cp = glob.codePointAt(i) ?? 0;
      const width = cp > 0xffff ? 2 : 1;
      n += utf8ByteLength(glob.slice(i, i + width));
      i += width;
    }
  }
  return n;
}

const globChars = /[*?[\\]/;

/**
 * Why a matchImages entry the kubelet's own check accepts is refused anyway, or null: it is
 * longer than maxMatchImageChars, or it can only match images no registry can serve (a host
 * label over 63 characters, a host over 253, a path longer than any repository path). Patterns
 * the kubelet accepts and that can match are never refused here; an entry the kubelet's check
 * refuses is left to matchImageError (null here).
 */
export function matchImageLimitError(value: string): string | null {
  if (value.length > maxMatchImageChars) {
    return `${preview(value)} is longer than ${String(maxMatchImageChars)} characters (an image name is at most ${String(longestImageChars)}: a ${String(imageBounds.hostChars)}-character host, a port, a ${String(imageBounds.pathChars - 1)}-character repository path)`;
  }
  const parsed = parsePattern(value);
  if (!parsed.ok) return null;
  const { hostParts, path } = parsed.url;
  let hostBytes = hostParts.length - 1; // the dots
  for (const [i, part] of hostParts.entries()) {
    // A malformed glob never matches: the kubelet accepts it, and it is only worth a warning.
    if (!isWellFormedGlob(part)) return null;
    const shortest = shortestGlobMatch(part);
    hostBytes += shortest;
    if (shortest > imageBounds.labelChars) {
      const what = globChars.test(part)
        ? `only matches labels of ${String(shortest)} characters or more`
        : `is ${String(shortest)} characters long`;
      return `host segment ${String(i + 1)} (${preview(part)}) ${what}: a DNS label has at most ${String(imageBounds.labelChars)}, so no image host can match it`;
    }
  }
  if (hostBytes > imageBounds.hostChars) {
    return `its host only matches host names of ${String(hostBytes)} characters or more: a DNS name has at most ${String(imageBounds.hostChars)}, so no image host can match it`;
  }
  if (path.length > imageBounds.pathChars) {
    return `its path is ${String(path.length)} characters long (after %-decoding): an image's repository path has at most ${String(imageBounds.pathChars - 1)} (distribution/reference), so it can never be a prefix of one`;
  }
  return null;
}
