// The kubelet's BasicDockerKeyring (pkg/credentialprovider/keyring.go): how registry keys are
// normalised, ordered and looked up for an image, including the Docker Hub fallback.

import { parseGoUrl } from "./go-url.ts";
import { isPlainHost, parseSchemelessUrl, urlsMatch } from "./url-match.ts";

export interface Credential {
  /** The registry key exactly as written in the Docker config. */
  readonly key: string;
  readonly username: string;
  readonly password: string;
}

/** The key under which the kubelet keeps Docker Hub credentials for its fallback. */
export const DEFAULT_REGISTRY_HOST = "index.docker.io";

/**
 * BasicDockerKeyring.Add's key normalisation: "https://" is prepended unless the key starts with
 * "http://" or "https://", the URL is parsed, a leading "/v1/" or "/v2/" path is reduced to "/",
 * and the key becomes host[+path] (a path of "/" is dropped). Undefined where url.Parse fails: the
 * kubelet logs and ignores such keys.
 */
export function normalizeKey(key: string): string | undefined {
  if (isPlainHost(key)) return key; // host only: nothing to parse or to reduce
  const value = key.startsWith("https://") || key.startsWith("http://") ? key : "https://" + key;
  const parsed = parseGoUrl(value);
  if (!parsed.ok) return undefined;
  let path = parsed.url.path;
  if (path.startsWith("/v2/") || path.startsWith("/v1/")) path = path.slice(3);
  return path.length > 0 && path !== "/" ? parsed.url.host + path : parsed.url.host;
}

/** Go's string order (bytewise UTF-8), which is code point order. */
export function compareGoStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(i) ?? 0;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

function belowSurrogates(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return false;
  return true;
}

export interface Keyring {
  /** Normalised keys, de-duplicated, in reverse lexicographic order (the kubelet's lookup order). */
  readonly index: readonly string[];
  /** Credentials per normalised key, in the order they were added. */
  readonly creds: Readonly<Record<string, readonly Credential[]>>;
}

/**
 * BasicDockerKeyring.Add over one Docker config. Entries sharing a normalised key keep the order
 * given (the kubelet iterates a Go map there, so its order is unspecified).
 */
export function buildKeyring(credentials: readonly Credential[]): Keyring {
  const creds: Record<string, Credential[]> = Object.create(null) as Record<string, Credential[]>;
  const index: string[] = [];
  for (const c of credentials) {
    const key = normalizeKey(c.key);
    if (key === undefined) continue;
    const list = creds[key];
    if (list === undefined) {
      creds[key] = [c];
      index.push(key);
    } else {
      list.push(c);
    }
  }
  if (index.every(belowSurrogates)) {
    // Below U+D800, UTF-16 order is code point order: the engine's own sort (no call per
    // comparison), reversed; keys are distinct, so there are no ties to keep in order.
    index.sort();
    index.reverse();
  } else {
    index.sort((a, b) => compareGoStrings(b, a));
  }
  return { index, creds };
}

/**
 * isDefaultRegistryMatch: whether the kubelet would treat the image as a Docker Hub image — no "/"
 * at all, a first segment of "docker.io" or "index.docker.io", or a first segment with neither "."
 * nor ":" (so "localhost/app" counts too).
 */
export function isDefaultRegistryMatch(image: string): boolean {
  const slash = image.indexOf("/");
  const first = slash < 0 ? image : image.slice(0, slash);
  if (first.length === 0) return false;
  if (slash < 0) return true;
  if (first === "docker.io" || first === DEFAULT_REGISTRY_HOST) return true;
  return !first.includes(".") && !first.includes(":");
}

export interface LookupResult {
  /** Credentials in the order the kubelet tries them. */
  readonly credentials: readonly Credential[];
  /** "match": keys matched the image; "default-registry": the Docker Hub fallback applied. */
  readonly via: "match" | "default-registry" | "none";
}

/**
 * BasicDockerKeyring.Lookup: URLsMatchStr(key, image) for every key, with the image parsed once
 * (a parse error on either side is "no match"), so one call costs about the size of the keys.
 */
export function lookup(keyring: Keyring, image: string): LookupResult {
  const found: Credential[] = [];
  const target = parseSchemelessUrl(image);
  if (target.ok) {
    for (const key of keyring.index) {
      const glob = parseSchemelessUrl(key);
      if (!glob.ok || !urlsMatch(glob.url, target.url)) continue;
      // One push per credential: a spread of a long list would overflow the argument limit.
      for (const c of keyring.creds[key] ?? []) found.push(c);
    }
  }
  if (found.length > 0) return { credentials: found, via: "match" };
  const hub = keyring.creds[DEFAULT_REGISTRY_HOST];
  if (hub !== undefined && isDefaultRegistryMatch(image)) {
    return { credentials: hub, via: "default-registry" };
  }
  return { credentials: [], via: "none" };
}
