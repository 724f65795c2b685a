// The kubelet's URLsMatchStr (pkg/credentialprovider/keyring.go), used both for matchImages and
// for registry keys: both sides are parsed as url.Parse("https://" + s); the host is split into
// port (net.SplitHostPort; no port or an unsplittable host means port "") and dot-separated
// segments; ports must be string-equal, segment counts equal, every segment must match with
// filepath.Match, and the pattern's path must be a plain string prefix of the target's path.

import { goFilepathMatch, isWellFormedGlob } from "./glob.ts";
import { parseGoUrl, splitHostPort } from "./go-url.ts";

export interface SchemelessUrl {
  /** The host split on ".", port removed. */
  readonly hostParts: readonly string[];
  /** The port as written ("" when absent). Ports are compared as strings, never globbed. */
  readonly port: string;
  readonly path: string;
}

export type SchemelessUrlResult =
  | { readonly ok: true; readonly url: SchemelessUrl }
  | { readonly ok: false; readonly error: string };

/**
 * Whether s is a plain host name: letters, digits and ".-_*" only. url.Parse("https://" + s) then
 * yields s itself as the host, with no port and no path, so callers may skip the parser: the
 * common case of every key and image, which a policy with many keys repeats per call.
 */
export function isPlainHost(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const plain =
      (c >= 97 && c <= 122) || // a-z
      (c >= 65 && c <= 90) || // A-Z
      (c >= 48 && c <= 57) || // 0-9
      c === 46 || // .
      c === 45 || // -
      c === 95 || // _
      c === 42; // *
    if (!plain) return false;
  }
  return true;
}

/** ParseSchemelessURL followed by SplitURL. */
export function parseSchemelessUrl(s: string): SchemelessUrlResult {
  if (isPlainHost(s)) return { ok: true, url: { hostParts: s.split("."), port: "", path: "" } };
  const parsed = parseGoUrl("https://" + s);
  if (!parsed.ok) return parsed;
  const { host, path } = parsed.url;
  const hp = splitHostPort(host);
  const hostname = hp === undefined ? host : hp.host;
  return { ok: true, url: { hostParts: hostname.split("."), port: hp?.port ?? "", path } };
}

/** Host and port agree (segment by segment), ignoring paths. */
export function hostsMatch(glob: SchemelessUrl, target: SchemelessUrl): boolean {
  if (glob.port !== target.port) return false;
  if (glob.hostParts.length !== target.hostParts.length) return false;
  for (let i = 0; i < glob.hostParts.length; i++) {
    if (goFilepathMatch(glob.hostParts[i] ?? "", target.hostParts[i] ?? "") !== "match") {
      return false;
    }
  }
  return true;
}

/** URLsMatch on parsed URLs. */
export function urlsMatch(glob: SchemelessUrl, target: SchemelessUrl): boolean {
  return target.path.startsWith(glob.path) && hostsMatch(glob, target);
}

/** URLsMatchStr(glob, target); a parse error on either side is "no match", as in the kubelet. */
export function urlsMatchStr(glob: string, target: string): boolean {
  const g = parseSchemelessUrl(glob);
  if (!g.ok) return false;
  const t = parseSchemelessUrl(target);
  return t.ok && urlsMatch(g.url, t.url);
}

export type MatchPatternResult =
  | {
      readonly ok: true;
      readonly url: SchemelessUrl;
      /** Accepted by the kubelet, but the pattern can never match an image. */
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly problem: string };

/**
 * Validates a matchImages entry the way the kubelet's config validation does (it must parse as
 * url.Parse("https://" + pattern)), and reports patterns the kubelet accepts but that never match.
 */
export function parseMatchPattern(pattern: string): MatchPatternResult {
  const parsed = parseSchemelessUrl(pattern);
  if (!parsed.ok) return { ok: false, problem: `match image is invalid: ${parsed.error}` };
  const warnings: string[] = [];
  if (pattern.startsWith("http://") || pattern.startsWith("https://")) {
    warnings.push("a scheme is not stripped from matchImages: this pattern never matches an image");
  }
  parsed.url.hostParts.forEach((part, i) => {
    if (!isWellFormedGlob(part)) {
      warnings.push(`host segment ${String(i + 1)} is not a valid glob: it never matches`);
    }
  });
  return { ok: true, url: parsed.url, warnings };
}
