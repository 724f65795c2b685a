import {
  MAX_CREDENTIAL_SETS,
  MAX_NAMESPACE_PATTERNS,
  type CredentialSet,
} from "../../../provider/core/policy.ts";
import { describeKey } from "../../../provider/core/docker-config.ts";
import { isNamespaceName } from "../../../provider/core/scopes.ts";
import {
  firstKeyOverlap,
  firstNamespaceOverlap,
  indexRegistryKeys,
  namespacePatternProblem,
  Work,
  WorkExceeded,
  type KeyOverlap,
  type RegistryKeyIndex,
} from "./glob-overlap.ts";
import { child, index, preview, problem, type Problem, type Result } from "../problems.ts";
import { isDns1123Subdomain } from "./qualified-name.ts";
import { parseStrictYaml } from "../strict-yaml.ts";

/**
 * The ConfigMap's `credentialSets` (installer/README.md "ConfigMap"): which namespaces may use
 * which Secret's credentials. Parsed and checked here on its own; the one check that needs the
 * Secrets' registry keys, two sets that would both answer one pull (`setConflicts`), runs where
 * the credentials are known (policy-file.ts nextPolicy, for apply and sync alike).
 */
export interface CredentialSetSpec {
  readonly name: string;
  /** The Secret it comes from; null: the default Secret (the one the DaemonSet mounts). */
  readonly secret: string | null;
  /** Go filepath.Match patterns over namespace names; [] matches no namespace. */
  readonly namespaces: readonly string[];
  /** Used only for a ServiceAccount annotated with its name (SELECT_ANNOTATION). */
  readonly onlyWhenSelected: boolean;
}

/** The ConfigMap key (configmap.ts settingsKeys), and where problems about it are. */
export const credentialSetsKey = "credentialSets";
const setsPath = `data.${credentialSetsKey}`;

/** The set of the Secret the DaemonSet mounts; it exists even when not listed. */
export const DEFAULT_SET = "default";

/** What the default set admits when it is not listed, or lists no `namespaces`. */
const defaultNamespaces = ["*"] as const;

export const credentialSetLimits = {
  /** Sets, and namespace patterns per set: the provider's own bounds (policy.ts). */
  sets: MAX_CREDENTIAL_SETS,
  namespaces: MAX_NAMESPACE_PATTERNS,
  /** A namespace name has at most 63 characters: a pattern for it needs not many more. */
  patternChars: 256,
  /**
   * Steps of the conflict check (glob-overlap.ts Work: about a table cell of a glob comparison,
   * or a character looked at): comparing every pair of sets, their namespace patterns and their
   * registry keys. Ten team sets beside a 7,000-key default Secret need about 100,000; a step
   * costs at most about 35 ns, so hostile sets stop within half a second.
   */
  conflictWork: 10_000_000,
} as const;

const fields = ["secret", "namespaces", "onlyWhenSelected"] as const;

function pathOf(parent: string, key: string): string {
  return child(parent, key.length > 64 ? preview(key, 64) : key);
}

/** Where a set is in the ConfigMap (`data.credentialSets.team-a`), for problems about it. */
export function credentialSetPath(name: string): string {
  return pathOf(setsPath, name);
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (v instanceof Map) return "a mapping";
  return `a ${typeof v}`;
}

/** A YAML scalar other than a string, as a name someone meant (`123:` is a number). */
function notAString(v: unknown): string {
  const text = typeof v === "number" || typeof v === "boolean" ? ` (${String(v)})` : "";
  return `must be a string, not ${kindOf(v)}${text}: quote it`;
}

function parseNamespaces(value: unknown, at: string, problems: Problem[]): string[] | null {
  if (!Array.isArray(value)) {
    problems.push(problem(at, `must be a list of namespace patterns, not ${kindOf(value)}`));
    return null;
  }
  if (value.length > credentialSetLimits.namespaces) {
    problems.push(
      problem(
        at,
        `${String(value.length)} patterns; at most ${String(credentialSetLimits.namespaces)}`,
      ),
    );
    return null;
  }
  const out: string[] = [];
  const seen = new Map<string, number>();
  let valid = true;
  for (const [i, p] of (value as unknown[]).entries()) {
    const pAt = index(at, i);
    if (typeof p !== "string") {
      problems.push(problem(pAt, notAString(p)));
      valid = false;
      continue;
    }
    if (p.length > credentialSetLimits.patternChars) {
      problems.push(
        problem(
          pAt,
          `${preview(p)} is longer than ${String(credentialSetLimits.patternChars)} characters (namespace names have at most 63)`,
        ),
      );
      valid = false;
      continue;
    }
    const why = namespacePatternProblem(p);
    if (why !== null) {
      problems.push(problem(pAt, `${JSON.stringify(p)} can match no namespace: ${why}`));
      valid = false;
      continue;
    }
    const first = seen.get(p);
    if (first !== undefined) {
      problems.push(
        problem(pAt, `${JSON.stringify(p)} is listed twice (also at [${String(first)}])`),
      );
      valid = false;
      continue;
    }
    seen.set(p, i);
    out.push(p);
  }
  return valid ? out : null;
}

/** A set's name must be a namespace-style label: ServiceAccounts name it in an annotation. */
function nameProblems(name: string, at: string): Problem[] {
  if (isNamespaceName(name)) return [];
  return [
    problem(
      at,
      `set name ${preview(name, 64)}: must be a DNS-1123 label (at most 63 of a-z, 0-9 and "-", starting and ending with a letter or digit), the value ServiceAccounts give in the nodecred.io/credentials annotation`,
    ),
  ];
}

function unknownFieldProblems(body: ReadonlyMap<unknown, unknown>, at: string): Problem[] {
  const out: Problem[] = [];
  for (const key of body.keys()) {
    if (typeof key !== "string" || !(fields as readonly string[]).includes(key)) {
      const shown = typeof key === "string" ? key : String(key);
      out.push(problem(pathOf(at, shown), `unknown field; known fields: ${fields.join(", ")}`));
    }
  }
  return out;
}

/** A set's mapping being read: its fields' problems go to `problems`, at paths under `at`. */
interface SetBody {
  readonly body: ReadonlyMap<unknown, unknown>;
  readonly isDefault: boolean;
  readonly at: string;
  readonly problems: Problem[];
}

/** `secret`: required, a Secret name; not allowed in the default set (null there: the mounted one). */
function parseSecretField({ body, isDefault, at, problems }: SetBody): string | null {
  const refuse = (why: string): null => {
    problems.push(problem(child(at, "secret"), why));
    return null;
  };
  const raw = body.get("secret");
  if (isDefault) {
    return body.has("secret")
      ? refuse(
          "not allowed: the default set is always the Secret the DaemonSet mounts (name another set to use another Secret)",
        )
      : null;
  }
  if (raw === undefined || raw === null) {
    return refuse("Required value: the name of a Secret in nodecred's namespace");
  }
  if (typeof raw !== "string") return refuse(notAString(raw));
  if (!isDns1123Subdomain(raw)) {
    return refuse(
      `${preview(raw, 64)} is not a Secret name (a DNS-1123 subdomain: at most 253 of a-z, 0-9, "-" and ".", starting and ending with a letter or digit)`,
    );
  }
  return raw;
}

/** `namespaces`: required and not empty, but in the default set (which admits all when absent). */
function parseNamespacesField({
  body,
  isDefault,
  at,
  problems,
}: SetBody): readonly string[] | null {
  const nsAt = child(at, "namespaces");
  const raw = body.get("namespaces");
  if (raw === undefined || raw === null) {
    if (isDefault) return defaultNamespaces;
    problems.push(
      problem(nsAt, 'Required value: the namespaces that may use it (patterns like "team-a-*")'),
    );
    return null;
  }
  const namespaces = parseNamespaces(raw, nsAt, problems);
  if (namespaces !== null && namespaces.length === 0 && !isDefault) {
    problems.push(
      problem(
        nsAt,
        "must not be empty: a set for no namespace gives no credentials (only the default set may be closed this way)",
      ),
    );
  }
  return namespaces;
}

/** `onlyWhenSelected`: a boolean, false when absent. */
function parseOnlyWhenSelected({ body, at, problems }: SetBody): boolean {
  const raw = body.get("onlyWhenSelected");
  if (raw === undefined || raw === null) return false;
  if (typeof raw === "boolean") return raw;
  problems.push(
    problem(child(at, "onlyWhenSelected"), `must be true or false, not ${kindOf(raw)}`),
  );
  return false;
}

function parseSet(
  name: string,
  value: unknown,
  at: string,
  problems: Problem[],
): CredentialSetSpec | null {
  const isDefault = name === DEFAULT_SET;
  const before = problems.length;
  problems.push(...nameProblems(name, at));
  // `default:` with nothing after it: the default set as it would be unlisted.
  const body = value === null && isDefault ? new Map<unknown, unknown>() : value;
  if (!(body instanceof Map)) {
    problems.push(
      problem(
        at,
        `must be a mapping of ${fields.join(", ")}, not ${kindOf(value)}${isDefault ? "" : " (secret and namespaces are required)"}`,
      ),
    );
    return null;
  }
  problems.push(...unknownFieldProblems(body, at));
  const set: SetBody = { body, isDefault, at, problems };
  const secret = parseSecretField(set);
  const namespaces = parseNamespacesField(set);
  const onlyWhenSelected = parseOnlyWhenSelected(set);
  if (problems.length > before || namespaces === null) return null;
  return { name, secret, namespaces, onlyWhenSelected };
}

/**
 * The `credentialSets` value: YAML (strict, as the kubelet's own decoder), a mapping of set name
 * to `{secret, namespaces, onlyWhenSelected}`, in document order (the order the provider tries
 * them in), `default` last when not listed. Every problem with its path
 * (`data.credentialSets.team-a.namespaces[1]`).
 */
export function parseCredentialSets(
  text: string,
  at = setsPath,
): Result<readonly CredentialSetSpec[]> {
  const blank = text.split("\n").every((l) => l.trim() === "" || l.trim().startsWith("#"));
  if (blank) {
    return {
      ok: false,
      problems: [
        problem(
          at,
          "is empty: list the sets (`{}` for the default set alone), or remove the key for unscoped credentials",
        ),
      ],
    };
  }
  const parsed = parseStrictYaml(text, at, { mapAsMap: true });
  if (!parsed.ok) return parsed;
  const doc = parsed.value;
  if (!(doc instanceof Map)) {
    return {
      ok: false,
      problems: [
        problem(
          at,
          `must be a YAML mapping of set name to {secret, namespaces, onlyWhenSelected}, not ${kindOf(doc)}`,
        ),
      ],
    };
  }
  if (doc.size > credentialSetLimits.sets) {
    return {
      ok: false,
      problems: [
        problem(at, `${String(doc.size)} sets; at most ${String(credentialSetLimits.sets)}`),
      ],
    };
  }
  const problems: Problem[] = [];
  const sets: CredentialSetSpec[] = [];
  for (const [key, value] of doc) {
    if (typeof key !== "string") {
      problems.push(problem(at, `set name ${notAString(key)}`));
      continue;
    }
    const set = parseSet(key, value, pathOf(at, key), problems);
    if (set !== null) sets.push(set);
  }
  if (problems.length > 0) return { ok: false, problems };
  if (!sets.some((s) => s.name === DEFAULT_SET)) {
    sets.push({
      name: DEFAULT_SET,
      secret: null,
      namespaces: defaultNamespaces,
      onlyWhenSelected: false,
    });
  }
  return { ok: true, value: sets };
}

function describeRegistryKey(k: KeyOverlap["a"]): string {
  // Redacted first (a key may hold user:password@), then shortened.
  const shown = preview(JSON.parse(describeKey(k.key)) as string, 120);
  return k.hub
    ? `${shown} (its Docker Hub fallback, which also answers docker.io and hosts without a dot or port)`
    : shown;
}

function conflictProblem(
  at: string,
  a: CredentialSetSpec,
  b: CredentialSetSpec,
  namespaces: readonly [string, string],
  keys: KeyOverlap,
): Problem {
  const [na, nb] = namespaces;
  const where =
    na === nb
      ? `both admit namespace pattern ${JSON.stringify(na)}`
      : `namespace patterns ${JSON.stringify(nb)} and ${JSON.stringify(na)} (of ${JSON.stringify(a.name)}) match some namespace alike`;
  const ka = describeRegistryKey(keys.a);
  const kb = describeRegistryKey(keys.b);
  const what =
    keys.a.key === keys.b.key && keys.a.hub === keys.b.hub
      ? `both hold credentials for registry key ${ka}`
      : `registry keys ${kb} and ${ka} (of ${JSON.stringify(a.name)}) match some image alike`;
  return problem(
    pathOf(at, b.name),
    `conflicts with set ${JSON.stringify(a.name)}: ${where}, and ${what}, so a pull there could take either set's credentials; narrow the namespaces of one of them, or mark one onlyWhenSelected: true (used only by ServiceAccounts that name it)`,
  );
}

/**
 * Two sets that would both answer one pull: neither onlyWhenSelected (an annotation names one
 * set, so those never compete), a namespace both admit, an image both hold a key for. One problem
 * per such pair, at the later set, naming both sets, a namespace pattern and a registry key of
 * each. Work is bounded (credentialSetLimits.conflictWork); past it, one problem says so.
 */
export function setConflicts(sets: readonly CredentialSet[], at = setsPath): Problem[] {
  const work = new Work(credentialSetLimits.conflictWork);
  const competing = sets.filter((s) => !s.onlyWhenSelected && s.namespaces.length > 0);
  const indexes = new Map<CredentialSet, RegistryKeyIndex>();
  const keysOf = (s: CredentialSet): RegistryKeyIndex => {
    let ix = indexes.get(s);
    if (ix === undefined) {
      ix = indexRegistryKeys(
        s.credentials.map((c) => c.key),
        work,
      );
      indexes.set(s, ix);
    }
    return ix;
  };
  const out: Problem[] = [];
  try {
    for (let j = 1; j < competing.length; j++) {
      const b = competing[j] as CredentialSet;
      for (let i = 0; i < j; i++) {
        const a = competing[i] as CredentialSet;
        if (a.credentials.length === 0 || b.credentials.length === 0) continue;
        const namespaces = firstNamespaceOverlap(a.namespaces, b.namespaces, work);
        if (namespaces === null) continue;
        const keys = firstKeyOverlap(keysOf(a), keysOf(b), work);
        if (keys !== null) out.push(conflictProblem(at, a, b, namespaces, keys));
      }
    }
  } catch (e) {
    if (!(e instanceof WorkExceeded)) throw e;
    out.push(
      problem(
        at,
        `checking the sets for conflicts took more than ${String(e.limit)} steps (many or long wildcard namespace patterns or registry keys); use fewer wildcards`,
      ),
    );
  }
  return out;
}
