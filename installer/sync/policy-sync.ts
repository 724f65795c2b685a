import type { Credential } from "../../provider/core/keyring.ts";
import type { Grants } from "../../provider/core/policy.ts";
import type { ApiObject } from "../core/api-object.ts";
import { currentPolicy, nextPolicy } from "../core/plan/policy-file.ts";
import type { Result } from "../core/problems.ts";
import type { PolicyOutcome, SecretState } from "../core/report/outcomes.ts";
import { checkConfigMapObject } from "./config-rollout.ts";
import type { DecodedSecret, SecretDecoder } from "./secret-decoder.ts";

/**
 * One pass of policy sync: the Secrets and the ConfigMap as they are now → the node's policy file
 * (matchImages + credentials, or + credential sets; installer/core/plan/policy-file.ts decides what it
 * holds) → a compare-first atomic write. The provider reads that file on every exec, so the next
 * pull sees the change: no kubelet restart, no cache. A missing or invalid object changes nothing
 * of its part: the node keeps its last good credentials or rules; a ConfigMap whose sets cannot be
 * used together (a Secret not found, two sets that could serve one image in one namespace) is
 * refused whole and nothing is written. The outcome (core/report/outcomes.ts) says why.
 */

function stateOf(decoded: DecodedSecret | undefined, listed: boolean): SecretState {
  if (!listed) return { kind: "unknown" };
  if (decoded === undefined) return { kind: "missing" };
  const { resourceVersion, uid, credentials } = decoded;
  return credentials.ok
    ? { kind: "ok", resourceVersion }
    : { kind: "invalid", resourceVersion, uid, problems: credentials.problems };
}

/** The credentials the file holds per Secret (a set's, or the default one's), for change reports. */
function credentialsBySecret(
  grants: Grants | undefined,
  defaultSecret: string,
): Map<string, readonly Credential[]> {
  const by = new Map<string, readonly Credential[]>();
  if (grants === undefined) return by;
  if (!grants.scoped) by.set(defaultSecret, grants.credentials);
  else for (const set of grants.sets) by.set(set.secret ?? defaultSecret, set.credentials);
  return by;
}

function changedSecrets(
  before: Grants | undefined,
  after: Grants,
  defaultSecret: string,
): string[] {
  const old = credentialsBySecret(before, defaultSecret);
  return [...credentialsBySecret(after, defaultSecret)]
    .filter(([name, credentials]) => JSON.stringify(old.get(name)) !== JSON.stringify(credentials))
    .map(([name]) => name);
}

/** The Secrets (besides the default) that credential sets take their credentials from. */
function setSecretNames(sets: readonly { readonly secret: string | null }[]): string[] {
  return sets.flatMap((s) => (s.secret === null ? [] : [s.secret]));
}

export async function syncPolicy(deps: {
  /** Every Secret of nodecred's namespace by name; undefined: not listed (yet). */
  secrets: ReadonlyMap<string, Readonly<Record<string, unknown>>> | undefined;
  /** The name of the default Secret (the one the DaemonSet mounts). */
  defaultSecret: string;
  /** Decodes the Secrets a pass needs, remembering unchanged ones (secret-decoder.ts). */
  decoder: SecretDecoder;
  /**
   * undefined: not listed (yet), or not readable at all (a kustomize configMapGenerator names the
   * ConfigMap with a hash the Role grants, not the plain name): the rules in the file are kept.
   */
  configMap: ApiObject | undefined;
  /** The node's policy file as it is (null: absent). */
  read: () => Promise<Uint8Array | null>;
  /** Atomic, compare-first write of the policy file; true when the bytes changed. */
  write: (bytes: Uint8Array) => Promise<boolean>;
}): Promise<PolicyOutcome> {
  const config =
    deps.configMap === undefined
      ? ({ kind: "unknown" } as const)
      : checkConfigMapObject(deps.configMap);
  const current = currentPolicy(await deps.read());

  // The sets the next file is made of: the ConfigMap's when it is valid, else the file's own.
  const credentialSets =
    config.kind === "ok"
      ? (config.config.settings.credentialSets ?? [])
      : current?.grants.scoped === true
        ? current.grants.sets
        : [];
  const setSecrets = setSecretNames(credentialSets);
  const listed = deps.secrets !== undefined;
  const decoded = deps.decoder.decode(deps.secrets ?? new Map(), [
    deps.defaultSecret,
    ...setSecrets,
  ]);
  const defaultDecoded = decoded.get(deps.defaultSecret);
  const secrets = new Map<string, Result<readonly Credential[]>>();
  for (const [name, d] of decoded) secrets.set(name, d.credentials);

  const settings =
    config.kind === "ok"
      ? {
          ok: true as const,
          value: {
            matchImages: config.config.settings.matchImages,
            credentialSets: config.config.settings.credentialSets,
          },
        }
      : config.kind === "invalid"
        ? { ok: false as const, problems: config.problems }
        : null;
  const next = nextPolicy({
    credentials: defaultDecoded?.credentials ?? null,
    settings,
    ...(listed ? { secrets } : {}),
    current,
  });

  const outcome = {
    secret: stateOf(defaultDecoded, listed),
    setSecrets: new Map(
      setSecrets
        .filter((name) => name !== deps.defaultSecret && (!listed || decoded.has(name)))
        .map((name) => [name, stateOf(decoded.get(name), listed)] as const),
    ),
    configHash: config.kind === "ok" ? config.config.hash : null,
    configResourceVersion:
      config.kind === "ok" || config.kind === "invalid" ? config.resourceVersion : "",
    configUid: config.kind === "ok" || config.kind === "invalid" ? config.uid : "",
  };
  switch (next.kind) {
    case "incomplete":
      return { ...outcome, file: { kind: "incomplete", missing: next.missing } };
    case "refused":
      return { ...outcome, file: { kind: "refused", problems: next.problems } };
    case "policy":
      break;
  }
  if (!(await deps.write(next.bytes))) return { ...outcome, file: { kind: "unchanged" } };
  const after = next.policy;
  return {
    ...outcome,
    file: {
      kind: "written",
      credentialsChanged: changedSecrets(current?.grants, after.grants, deps.defaultSecret),
      // A first write (no valid file before) sets the rules; it does not change them.
      rulesChanged:
        current !== null &&
        JSON.stringify(current.rules.map((r) => r.pattern)) !==
          JSON.stringify(after.rules.map((r) => r.pattern)),
    },
  };
}
