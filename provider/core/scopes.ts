// Scoped credentials (KEP-4412): which credential set of a scoped policy answers a request. The
// kubelet, configured with tokenAttributes, sends the pod's service-account token (issued for
// TOKEN_AUDIENCE) and the ServiceAccount's SELECT_ANNOTATION; the token's payload names the pod's
// namespace, the namespace decides which sets are allowed, and the annotation may pick one of
// those (it selects, never grants: whoever may edit a ServiceAccount may write it).
//
// No signature check, on purpose. The kubelet (root) is the only writer of the provider's stdin,
// and it obtained this token from the API server (TokenRequest) for this very pod's
// ServiceAccount moments before the exec. Anyone who could forge the request could as well read
// every credential the node holds, so verifying the signature (which would need the API server's
// keys on the node) would prove nothing more. cri-o's credential provider reads the payload the
// same way.

import { decodeRawUrlBase64 } from "./base64.ts";
import { goFilepathMatch } from "./glob.ts";
import { isRecord, parseJsonObject } from "./json-fields.ts";
import { buildKeyring, lookup, type Keyring, type LookupResult } from "./keyring.ts";
import type { CredentialSet } from "./policy.ts";
import { decodeUtf8 } from "./utf8.ts";

/** The audience the kubelet requests tokens for (never the API server's own). */
export const TOKEN_AUDIENCE = "nodecred.io";
/** The ServiceAccount annotation that selects a credential set by name. */
export const SELECT_ANNOTATION = "nodecred.io/credentials";

export type TokenNamespaceResult =
  | { readonly ok: true; readonly namespace: string }
  /** Never holds any text of the token. */
  | { readonly ok: false; readonly problem: string };

const PREFIX = "service account token: ";

function refused(problem: string): TokenNamespaceResult {
  return { ok: false, problem: PREFIX + problem };
}

function own(obj: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** Whether `aud` (a string or a list of strings, RFC 7519) names TOKEN_AUDIENCE; undefined: malformed. */
function hasAudience(aud: unknown): boolean | undefined {
  if (aud === undefined) return false;
  if (typeof aud === "string") return aud === TOKEN_AUDIENCE;
  if (!Array.isArray(aud)) return undefined;
  let found = false;
  for (let i = 0; i < aud.length; i++) {
    const a: unknown = aud[i];
    if (typeof a !== "string") return undefined;
    if (a === TOKEN_AUDIENCE) found = true;
  }
  return found;
}

/**
 * How deeply a payload may nest arrays and objects. An API server token nests 3 deep; the engines
 * differ past a few thousand levels (QuickJS's JSON.parse runs out of stack where V8's does not),
 * and both builds must give the same answer, so deeper payloads are refused before parsing.
 */
export const MAX_PAYLOAD_DEPTH = 32;

/** Whether JSON text nests arrays/objects deeper than `max` (strings skipped; one pass). */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      // A backslash escapes the next character; a quote ends the string.
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

/** A namespace name: a DNS-1123 label (at most 63 of a-z 0-9 "-", alphanumeric at both ends). */
export function isNamespaceName(s: string): boolean {
  if (s.length === 0 || s.length > 63) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
    if (!alnum && (c !== 45 || i === 0 || i === s.length - 1)) return false;
  }
  return true;
}

/**
 * The pod's namespace from its service-account token: the JWT's payload (the middle of three
 * dot-separated base64url parts; header and signature are not read), its `aud` holding
 * TOKEN_AUDIENCE, its `kubernetes.io.namespace` a namespace name.
 *
 * `exp` is not checked: the kubelet fetched the token for this exec, so an expired one can only
 * come from a skewed node clock, which should not break pulls; and without a signature check an
 * expiry check would prove nothing anyway.
 */
export function tokenNamespace(token: string): TokenNamespaceResult {
  const firstDot = token.indexOf(".");
  const secondDot = firstDot < 0 ? -1 : token.indexOf(".", firstDot + 1);
  if (secondDot < 0 || token.indexOf(".", secondDot + 1) >= 0) {
    return refused("not a JWT (want three dot-separated parts)");
  }
  const bytes = decodeRawUrlBase64(token.slice(firstDot + 1, secondDot));
  if (bytes === undefined) return refused("malformed payload (not base64url)");
  const text = decodeUtf8(bytes);
  if (text === undefined) return refused("malformed payload (not UTF-8)");
  if (nestsDeeperThan(text, MAX_PAYLOAD_DEPTH)) {
    return refused(`malformed payload (nested deeper than ${String(MAX_PAYLOAD_DEPTH)} levels)`);
  }
  const parsed = parseJsonObject(
    text,
    "malformed payload (not JSON)",
    "malformed payload (not a JSON object)",
  );
  if (!parsed.ok) return refused(parsed.problem);
  const payload = parsed.doc;
  const audience = hasAudience(own(payload, "aud"));
  if (audience === undefined) {
    return refused("malformed payload (aud is neither a string nor a list of strings)");
  }
  if (!audience) {
    return refused(`issued for another audience (want ${JSON.stringify(TOKEN_AUDIENCE)})`);
  }
  const claim = own(payload, "kubernetes.io");
  const namespace = isRecord(claim) ? own(claim, "namespace") : undefined;
  if (typeof namespace !== "string") return refused("no kubernetes.io namespace claim");
  // Always true of a token from the API server; checked so that matching stays cheap.
  if (!isNamespaceName(namespace)) {
    return refused("the kubernetes.io namespace claim is not a namespace name");
  }
  return { ok: true, namespace };
}

/** Whether a set's patterns admit the namespace (Go's filepath.Match, as the installer checks). */
export function namespaceAllowed(patterns: readonly string[], namespace: string): boolean {
  for (const p of patterns) if (goFilepathMatch(p, namespace) === "match") return true;
  return false;
}

/** Whether some pattern is made only of "*": it admits every namespace (and a pod without one). */
export function openToEveryNamespace(patterns: readonly string[]): boolean {
  for (const p of patterns) {
    let stars = p.length > 0;
    for (let i = 0; stars && i < p.length; i++) stars = p.charCodeAt(i) === 42;
    if (stars) return true;
  }
  return false;
}

/** Who is asking. */
export interface Scope {
  /** From the token; null: no token was sent (only sets open to every namespace are allowed). */
  readonly namespace: string | null;
  /** The SELECT_ANNOTATION value; null: absent. */
  readonly selected: string | null;
}

/** What became of the selection annotation. */
export type Selection =
  | "none" // no annotation
  | "unknown" // it names no set
  | "not-allowed" // it names a set this namespace may not use: ignored
  | "no-answer" // it names an allowed set that has no credentials for the image
  | "used"; // it names an allowed set that answers the image

export interface ChosenSet {
  readonly set: CredentialSet;
  readonly keyring: Keyring;
  /** Never empty. */
  readonly lookup: LookupResult;
}

export interface SetChoice {
  /** The sets the scope may use, in file order. */
  readonly allowed: readonly CredentialSet[];
  readonly selection: Selection;
  /** The set that answers; null: none does (empty answer). */
  readonly chosen: ChosenSet | null;
}

/** Whether the scope may use the set. */
export function setAllowed(set: CredentialSet, namespace: string | null): boolean {
  return namespace === null
    ? openToEveryNamespace(set.namespaces)
    : namespaceAllowed(set.namespaces, namespace);
}

function answering(set: CredentialSet, image: string): ChosenSet | null {
  const keyring = buildKeyring(set.credentials);
  const found = lookup(keyring, image);
  return found.credentials.length > 0 ? { set, keyring, lookup: found } : null;
}

/**
 * The set that answers the image: the one the annotation names, if the scope may use it and it
 * answers; else the first allowed set (file order) that is not onlyWhenSelected and answers.
 */
export function chooseSet(sets: readonly CredentialSet[], scope: Scope, image: string): SetChoice {
  const allowed: CredentialSet[] = [];
  for (const set of sets) if (setAllowed(set, scope.namespace)) allowed.push(set);
  let selection: Selection = "none";
  if (scope.selected !== null) {
    const named = allowed.find((s) => s.name === scope.selected);
    if (named === undefined) {
      selection = sets.some((s) => s.name === scope.selected) ? "not-allowed" : "unknown";
    } else {
      const chosen = answering(named, image);
      if (chosen !== null) return { allowed, selection: "used", chosen };
      selection = "no-answer";
    }
  }
  for (const set of allowed) {
    if (set.onlyWhenSelected) continue;
    const chosen = answering(set, image);
    if (chosen !== null) return { allowed, selection, chosen };
  }
  return { allowed, selection, chosen: null };
}

export type ScopeResult =
  { readonly ok: true; readonly scope: Scope } | { readonly ok: false; readonly problem: string };

/** The scope of a request: its token's namespace (if a token was sent) and its selection. */
export function requestScope(
  token: string | undefined,
  annotations: Readonly<Record<string, string>> | undefined,
): ScopeResult {
  let namespace: string | null = null;
  if (token !== undefined) {
    const read = tokenNamespace(token);
    if (!read.ok) return read;
    namespace = read.namespace;
  }
  const selected = annotations === undefined ? undefined : own(annotations, SELECT_ANNOTATION);
  return {
    ok: true,
    scope: { namespace, selected: typeof selected === "string" ? selected : null },
  };
}
