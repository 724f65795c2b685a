// The live policy file: the ConfigMap's matchImages and the Secret's credentials in one document,
// written together (atomically) by the installer, read by the provider on every exec. The kubelet
// registers a fixed envelope of patterns for us; which images get credentials is decided here, by
// the kubelet's own matching rules applied to the live matchImages, so a rotated Secret or an
// edited matchImages works on the very next pull without a kubelet restart.
//
//   {"apiVersion":"nodecred.io/v1","auths":{KEY:{"password":…,"username":…}},
//    "kind":"CredentialPolicy","matchImages":[PATTERN,…]}
//
// Canonical bytes (sorted keys, one line, trailing newline) so that equal content is equal bytes
// and the compare-first writer skips it. Reading is strict: a truncated, foreign or partial
// document is refused as a whole (the provider then exits 1), never half-used. Problems name
// fields and patterns, never a credential value.

import { describeKey, parseAuths } from "./docker-config.ts";
import { isRecord } from "./json-fields.ts";
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

export interface Policy {
  readonly rules: readonly PolicyRule[];
  /** In document order, keys as written. */
  readonly credentials: readonly Credential[];
}

export type PolicyResult =
  | { readonly ok: true; readonly policy: Policy }
  | { readonly ok: false; readonly problems: readonly string[] };

const FIELDS = ["apiVersion", "auths", "kind", "matchImages"];

function jsonText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jsonText).join(",")}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${jsonText(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The policy file's bytes (as text) for these rules and credentials. */
export function formatPolicy(
  matchImages: readonly string[],
  credentials: readonly Credential[],
): string {
  // No prototype: a registry key "__proto__" is a key like any other.
  const auths = Object.create(null) as Record<string, { username: string; password: string }>;
  for (const c of credentials) auths[c.key] = { username: c.username, password: c.password };
  return `${jsonText({
    apiVersion: POLICY_API_VERSION,
    kind: POLICY_KIND,
    matchImages: [...matchImages],
    auths,
  })}\n`;
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
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // The parser's message may quote the text, and so a secret: it is not passed on.
    return { ok: false, problems: ["not valid JSON (a truncated or foreign file?)"] };
  }
  if (!isRecord(doc)) return { ok: false, problems: ["the document must be a JSON object"] };
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
  let credentials: readonly Credential[] = [];
  if (doc["auths"] === undefined) problems.push("auths: missing");
  else {
    const auths = parseAuths(doc["auths"]);
    if (auths.ok) credentials = auths.entries;
    // A loop, not push(...list): a list of 100,000 problems would overflow the argument limit.
    else for (const p of auths.problems) problems.push(p);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, policy: { rules, credentials } };
}

/** The first rule that matches the image (the kubelet's isImageAllowed), if any. */
export function matchingRule(rules: readonly PolicyRule[], image: string): PolicyRule | undefined {
  const target = parseSchemelessUrl(image);
  if (!target.ok) return undefined;
  for (const rule of rules) if (urlsMatch(rule.url, target.url)) return rule;
  return undefined;
}
