// The live policy file: the ConfigMap's matchImages and the credentials in one document, written
// together (atomically) by the installer, read by the provider on every exec. The kubelet registers
// a fixed envelope of patterns for us; which images get credentials is decided here, by the
// kubelet's own matching rules applied to the live matchImages, so a rotated Secret or an edited
// matchImages works on the very next pull without a kubelet restart.
//
// Unscoped (one set of credentials for every pod on the node):
//   {"apiVersion":"nodecred.io/v1","auths":{KEY:{"password":…,"username":…}},
//    "kind":"CredentialPolicy","matchImages":[PATTERN,…]}
// Scoped (credential sets, each for the namespaces it names; scopes.ts chooses one per request):
//   {"apiVersion":"nodecred.io/v1","kind":"CredentialPolicy","matchImages":[PATTERN,…],
//    "sets":[{"auths":{…},"name":…,"namespaces":[…],"onlyWhenSelected":false,"secret":null|…},…]}
//
// Canonical bytes (sorted keys, one line, trailing newline) so that equal content is equal bytes
// and the compare-first writer skips it. Reading is strict: a truncated, foreign or partial
// document is refused as a whole (the provider then exits 1), never half-used. Problems name
// fields and patterns, never a credential value.

import { describeKey, parseAuths } from "./docker-config.ts";
import { isRecord, parseJsonObject } from "./json-fields.ts";
import type { Credential } from "./keyring.ts";
import {
  parseMatchPattern,
  parseSchemelessUrl,
  urlsMatch,
  type SchemelessUrl,
} from "./url-match.ts";

export const POLICY_API_VERSION = "nodecred.io/v1";
export const POLICY_KIND = "CredentialPolicy";
/** Where the installer keeps it on every node (and the provider looks when given no path). */
export const DEFAULT_POLICY_PATH = "/etc/nodecred/credentials/policy.json";

export interface PolicyRule {
  /** The matchImages pattern as written in the ConfigMap. */
  readonly pattern: string;
  readonly url: SchemelessUrl;
}

/** One credential set of a scoped policy. */
export interface CredentialSet {
  readonly name: string;
  /** The Secret it comes from; null: the default Secret (the one the DaemonSet mounts). */
  readonly secret: string | null;
  /** Go filepath.Match patterns over namespace names; [] matches no namespace. */
  readonly namespaces: readonly string[];
  /** Used only for a ServiceAccount whose SELECT_ANNOTATION names it. */
  readonly onlyWhenSelected: boolean;
  /** In document order, keys as written; may be empty (its Secret is not there yet). */
  readonly credentials: readonly Credential[];
}

/** Who may have which credentials: every pod alike, or per namespace (credential sets). */
export type Grants =
  /** Credentials in document order, keys as written. */
  | { readonly scoped: false; readonly credentials: readonly Credential[] }
  /** Sets in document order: the order in which they are tried. */
  | { readonly scoped: true; readonly sets: readonly CredentialSet[] };

export interface Policy {
  readonly rules: readonly PolicyRule[];
  readonly grants: Grants;
}

/**
 * The most credential sets, and namespace patterns per set, a policy holds (the installer refuses
 * a ConfigMap with more): they bound the work of choosing a set on every exec.
 */
export const MAX_CREDENTIAL_SETS = 256;
export const MAX_NAMESPACE_PATTERNS = 256;

export type PolicyResult =
  | { readonly ok: true; readonly policy: Policy }
  | { readonly ok: false; readonly problems: readonly string[] };

const FIELDS = ["apiVersion", "auths", "kind", "matchImages", "sets"];
const SET_FIELDS = ["auths", "name", "namespaces", "onlyWhenSelected", "secret"];

function jsonText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jsonText).join(",")}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${jsonText(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function authsObject(
  credentials: readonly Credential[],
): Record<string, { username: string; password: string }> {
  // No prototype: a registry key "__proto__" is a key like any other.
  const auths = Object.create(null) as Record<string, { username: string; password: string }>;
  for (const c of credentials) auths[c.key] = { username: c.username, password: c.password };
  return auths;
}

/** The policy file's bytes (as text) for these rules and grants. */
export function formatPolicy(matchImages: readonly string[], grants: Grants): string {
  const head = { apiVersion: POLICY_API_VERSION, kind: POLICY_KIND, matchImages: [...matchImages] };
  if (!grants.scoped) return `${jsonText({ ...head, auths: authsObject(grants.credentials) })}\n`;
  const sets = grants.sets.map((set) => ({
    auths: authsObject(set.credentials),
    name: set.name,
    namespaces: [...set.namespaces],
    onlyWhenSelected: set.onlyWhenSelected,
    secret: set.secret,
  }));
  return `${jsonText({ ...head, sets })}\n`;
}

function parseRules(value: unknown, problems: string[]): PolicyRule[] {
  if (!Array.isArray(value)) {
    problems.push("matchImages: must be a list of patterns");
    return [];
  }
  if (value.length === 0) problems.push("matchImages: is empty");
  const rules: PolicyRule[] = [];
  value.forEach((pattern: unknown, i) => {
    if (typeof pattern !== "string") {
      problems.push(`matchImages[${String(i)}]: must be a string`);
      return;
    }
    const parsed = parseMatchPattern(pattern);
    if (!parsed.ok)
      problems.push(`matchImages[${String(i)}] ${describeKey(pattern)}: ${parsed.problem}`);
    else rules.push({ pattern, url: parsed.url });
  });
  return rules;
}

/** Parses and validates a policy file; every problem is listed, nothing is half-read. */
export function parsePolicy(text: string): PolicyResult {
  const parsed = parseJsonObject(
    text,
    "not valid JSON (a truncated or foreign file?)",
    "the document must be a JSON object",
  );
  if (!parsed.ok) return { ok: false, problems: [parsed.problem] };
  const { doc } = parsed;
  if (doc["kind"] !== POLICY_KIND || doc["apiVersion"] !== POLICY_API_VERSION) {
    const dockerConfig = doc["kind"] === undefined && doc["auths"] !== undefined;
    return {
      ok: false,
      problems: [
        dockerConfig
          ? `not a nodecred policy file but a Docker config (auths without kind ${JSON.stringify(POLICY_KIND)}); read it with --credentials`
          : `not a nodecred policy file (want apiVersion ${JSON.stringify(POLICY_API_VERSION)} and kind ${JSON.stringify(POLICY_KIND)})`,
      ],
    };
  }
  const problems: string[] = [];
  const unknown = Object.keys(doc).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) {
    problems.push(`unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(", ")}`);
  }
  let rules: PolicyRule[] = [];
  if (doc["matchImages"] === undefined) problems.push("matchImages: missing");
  else rules = parseRules(doc["matchImages"], problems);
  let grants: Grants = { scoped: false, credentials: [] };
  const auths = doc["auths"];
  const sets = doc["sets"];
  if (auths !== undefined && sets !== undefined) {
    problems.push("auths and sets: give one, not both (sets: scoped credentials)");
  } else if (sets !== undefined) {
    grants = { scoped: true, sets: parseSets(sets, problems) };
  } else if (auths === undefined) {
    problems.push("auths: missing (or sets, for scoped credentials)");
  } else {
    grants = { scoped: false, credentials: parseCredentials(auths, "", false, problems) };
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, policy: { rules, grants } };
}

/**
 * An `auths` object read like a Docker config's, its problems prefixed with `path`. A set's may be
 * empty (its Secret is missing or invalid and nothing was kept): it answers no image.
 */
function parseCredentials(
  value: unknown,
  path: string,
  mayBeEmpty: boolean,
  problems: string[],
): readonly Credential[] {
  if (mayBeEmpty && isRecord(value) && Object.keys(value).length === 0) return [];
  const auths = parseAuths(value);
  if (auths.ok) return auths.entries;
  // A loop, not push(...list): a list of 100,000 problems would overflow the argument limit.
  for (const p of auths.problems) problems.push(path + p);
  return [];
}

function parseSets(value: unknown, problems: string[]): CredentialSet[] {
  if (!Array.isArray(value)) {
    problems.push("sets: must be a list of credential sets");
    return [];
  }
  if (value.length === 0) problems.push("sets: is empty");
  if (value.length > MAX_CREDENTIAL_SETS) {
    problems.push(`sets: more than ${String(MAX_CREDENTIAL_SETS)} credential sets`);
    return [];
  }
  const sets: CredentialSet[] = [];
  // Names seen so far, as keys of an object without a prototype (no Set in the QuickJS build).
  const seen = Object.create(null) as Record<string, number>;
  for (let i = 0; i < value.length; i++) {
    const path = `sets[${String(i)}]`;
    const set = parseSet(value[i], path, problems);
    if (set === undefined) continue;
    const first = seen[set.name];
    if (first !== undefined) {
      problems.push(
        `${path}.name: ${JSON.stringify(set.name)} is also the name of sets[${String(first)}]`,
      );
      continue;
    }
    seen[set.name] = i;
    sets.push(set);
  }
  return sets;
}

function parseSet(value: unknown, path: string, problems: string[]): CredentialSet | undefined {
  if (!isRecord(value)) {
    problems.push(`${path}: must be an object`);
    return undefined;
  }
  const before = problems.length;
  const unknown = Object.keys(value).filter((k) => !SET_FIELDS.includes(k));
  if (unknown.length > 0) {
    problems.push(`${path}: unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(", ")}`);
  }
  const { name, secret, namespaces, onlyWhenSelected } = value;
  if (typeof name !== "string" || name === "") {
    problems.push(`${path}.name: ${name === undefined ? "missing" : "must be a non-empty string"}`);
  }
  if (secret === undefined) problems.push(`${path}.secret: missing (null: the default Secret)`);
  else if (secret !== null && (typeof secret !== "string" || secret === "")) {
    problems.push(`${path}.secret: must be a non-empty string or null (the default Secret)`);
  }
  const patterns = parseNamespaces(namespaces, `${path}.namespaces`, problems);
  if (typeof onlyWhenSelected !== "boolean") {
    problems.push(
      `${path}.onlyWhenSelected: ${onlyWhenSelected === undefined ? "missing" : "must be true or false"}`,
    );
  }
  let credentials: readonly Credential[] = [];
  if (value["auths"] === undefined) problems.push(`${path}.auths: missing`);
  else credentials = parseCredentials(value["auths"], `${path}.`, true, problems);
  if (
    problems.length > before ||
    typeof name !== "string" ||
    (secret !== null && typeof secret !== "string") ||
    typeof onlyWhenSelected !== "boolean"
  ) {
    return undefined;
  }
  return { name, secret, namespaces: patterns, onlyWhenSelected, credentials };
}

function parseNamespaces(value: unknown, path: string, problems: string[]): string[] {
  if (value === undefined) {
    problems.push(`${path}: missing`);
    return [];
  }
  if (!Array.isArray(value)) {
    problems.push(`${path}: must be a list of namespace patterns`);
    return [];
  }
  if (value.length > MAX_NAMESPACE_PATTERNS) {
    problems.push(`${path}: more than ${String(MAX_NAMESPACE_PATTERNS)} patterns`);
    return [];
  }
  const patterns: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const p: unknown = value[i];
    if (typeof p === "string") patterns.push(p);
    else problems.push(`${path}[${String(i)}]: must be a string`);
  }
  return patterns;
}

/** The first rule that matches the image (the kubelet's isImageAllowed), if any. */
export function matchingRule(rules: readonly PolicyRule[], image: string): PolicyRule | undefined {
  const target = parseSchemelessUrl(image);
  if (!target.ok) return undefined;
  for (const rule of rules) if (urlsMatch(rule.url, target.url)) return rule;
  return undefined;
}
