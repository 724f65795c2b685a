import type { Credential } from "../../../provider/core/keyring.ts";
import {
  formatPolicy,
  parsePolicy,
  type CredentialSet,
  type Grants,
  type Policy,
} from "../../../provider/core/policy.ts";
import { MAX_FILE_BYTES } from "../../../provider/core/run.ts";
import type { Settings } from "../settings/configmap.ts";
import {
  credentialSetPath,
  credentialSetsKey,
  setConflicts,
  type CredentialSetSpec,
} from "../settings/credential-sets.ts";
import { boundProblems, problem, type Problem, type Result } from "../problems.ts";

/**
 * The node's policy file (provider/core/policy.ts holds its format and its reader): the
 * ConfigMap's matchImages and the credentials, unscoped (the default Secret's, for every pod) or
 * in credential sets (per namespace), always written together, so a pull never sees new rules
 * with old credentials or the reverse. `nextPolicy` is the one route to its bytes, for apply and
 * for the sync container alike.
 */

export interface PolicySources {
  /** The default Secret's credentials; null: it does not exist / not known. */
  readonly credentials: Result<readonly Credential[]> | null;
  /** The ConfigMap's settings once valid; null: missing or not known. */
  readonly settings: Result<Pick<Settings, "matchImages" | "credentialSets">> | null;
  /**
   * The Secrets of nodecred's namespace by name (sync: all it lists); undefined: not known
   * (apply), then each set keeps the credentials the node's current file has for it (same name
   * and secret), else none. A name a set refers to that is absent from a known map is refused.
   */
  readonly secrets?: ReadonlyMap<string, Result<readonly Credential[]>>;
  /** The node's policy file as it is (null: absent or not a valid policy). */
  readonly current: Policy | null;
}

export type NextPolicy =
  | { readonly kind: "policy"; readonly bytes: Uint8Array; readonly policy: Policy }
  /** Nothing can be written: a part is unavailable in the cluster and on the node alike. */
  | { readonly kind: "incomplete"; readonly missing: readonly ("credentials" | "matchImages")[] }
  /** The sets as they stand cannot be written (a Secret not found, two sets in conflict). */
  | { readonly kind: "refused"; readonly problems: readonly Problem[] };

const setsPath = `data.${credentialSetsKey}`;

function good<T>(r: Result<T> | null | undefined): T | undefined {
  return r?.ok === true ? r.value : undefined;
}

/** The specs of the sets in a policy (what the ConfigMap said when it was written). */
function specsOf(grants: Grants): readonly CredentialSetSpec[] | null {
  if (!grants.scoped) return null;
  return grants.sets.map(({ name, secret, namespaces, onlyWhenSelected }) => ({
    name,
    secret,
    namespaces,
    onlyWhenSelected,
  }));
}

/** The default Secret's credentials in a policy: unscoped, all; scoped, the set without a Secret of its own. */
function defaultCredentials(grants: Grants): readonly Credential[] | undefined {
  if (!grants.scoped) return grants.credentials;
  return grants.sets.find((s) => s.secret === null)?.credentials;
}

/** What the current file holds for the set: same name, same Secret; else nothing. */
function keptCredentials(current: Policy | null, spec: CredentialSetSpec): readonly Credential[] {
  if (current?.grants.scoped !== true) return [];
  const set = current.grants.sets.find((s) => s.name === spec.name && s.secret === spec.secret);
  return set?.credentials ?? [];
}

/**
 * What the policy file should hold now. A part whose object is missing or invalid keeps its value
 * from the node's current file (the last good one): a bad Secret never changes the rules, a bad
 * ConfigMap never changes the credentials, a bad set Secret keeps that set's credentials. Refused,
 * with every problem, when a set names a Secret a known list lacks, or when two sets would both
 * answer one pull (credential-sets.ts setConflicts): then nothing is written.
 */
export function nextPolicy(sources: PolicySources): NextPolicy {
  const { current } = sources;
  const settings = good(sources.settings);
  const matchImages = settings?.matchImages ?? current?.rules.map((r) => r.pattern);
  const defaults =
    good(sources.credentials) ??
    (current === null ? undefined : defaultCredentials(current.grants));
  if (defaults === undefined || matchImages === undefined) {
    return {
      kind: "incomplete",
      missing: [
        ...(defaults === undefined ? (["credentials"] as const) : []),
        ...(matchImages === undefined ? (["matchImages"] as const) : []),
      ],
    };
  }
  // A ConfigMap not known keeps the sets as the file has them, with the rules.
  const specs =
    settings !== undefined
      ? settings.credentialSets
      : current === null
        ? null
        : specsOf(current.grants);
  if (specs === null) return written(matchImages, { scoped: false, credentials: defaults });

  const problems: Problem[] = [];
  const sets: CredentialSet[] = specs.map((spec) => {
    let credentials: readonly Credential[];
    if (spec.secret === null) credentials = defaults;
    else if (sources.secrets === undefined) credentials = keptCredentials(current, spec);
    else {
      const found = sources.secrets.get(spec.secret);
      if (found === undefined) {
        problems.push(
          problem(
            `${credentialSetPath(spec.name)}.secret`,
            `Secret ${JSON.stringify(spec.secret)} not found in nodecred's namespace`,
          ),
        );
        credentials = [];
      } else credentials = found.ok ? found.value : keptCredentials(current, spec);
    }
    return { ...spec, credentials };
  });
  for (const p of setConflicts(sets, setsPath)) problems.push(p);
  if (problems.length > 0) return { kind: "refused", problems: boundProblems(problems) };
  return written(matchImages, { scoped: true, sets });
}

/**
 * The node's policy file as it is, read as the provider reads it; null when absent or not a valid
 * policy (then every part is taken from the cluster). Apply and sync both start from this.
 */
export function currentPolicy(bytes: Uint8Array | null): Policy | null {
  if (bytes === null) return null;
  const parsed = parsePolicy(new TextDecoder().decode(bytes));
  return parsed.ok ? parsed.policy : null;
}

/** The bytes, and the policy as the provider will read them (its own reader: one format). */
function written(matchImages: readonly string[], grants: Grants): NextPolicy {
  const text = formatPolicy(matchImages, grants);
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > MAX_FILE_BYTES) {
    // One ConfigMap and one Secret always fit; many sets' Secrets together may not.
    return {
      kind: "refused",
      problems: [
        problem(
          grants.scoped ? setsPath : "policy file",
          `the policy file would be ${String(bytes.length)} bytes and the provider reads at most ${String(MAX_FILE_BYTES)}: the sets' Secrets hold too many credentials together`,
        ),
      ],
    };
  }
  const read = parsePolicy(text);
  if (!read.ok) {
    // Only inputs the checks upstream refuse can get here (a rule the reader refuses).
    return {
      kind: "refused",
      problems: read.problems.slice(0, 10).map((p) => problem("policy file", p)),
    };
  }
  return { kind: "policy", bytes, policy: read.policy };
}
