import type { Credential } from "../../provider/core/keyring.ts";
import type { Grants } from "../../provider/core/policy.ts";
import type { ApiObject } from "../cluster/kube-api.ts";
import { currentPolicy, nextPolicy } from "../core/plan/policy-file.ts";
import type { Problem, Result } from "../core/problems.ts";
import { checkConfigMapObject, type RejectedVersion } from "./config-rollout.ts";
import type { DecodedSecret, SecretDecoder } from "./secret-decoder.ts";

/**
 * One pass of policy sync: the Secrets and the ConfigMap as they are now → the node's policy file
 * (matchImages + credentials, or + credential sets; installer/core/plan/policy-file.ts decides what it
 * holds) → a compare-first atomic write. The provider reads that file on every exec, so the next
 * pull sees the change: no kubelet restart, no cache. A missing or invalid object changes nothing
 * of its part: the node keeps its last good credentials or rules; a ConfigMap whose sets cannot be
 * used together (a Secret not found, two sets that could serve one image in one namespace) is
 * refused whole and nothing is written. The outcome says why, for the Events and the metrics.
 */
export type SecretState =
  /** Not listed (yet): the watch has not delivered it, e.g. while the API server is away. */
  | { readonly kind: "unknown" }
  | { readonly kind: "ok"; readonly resourceVersion: string }
  | { readonly kind: "missing" }
  | ({ readonly kind: "invalid" } & RejectedVersion);

export type FileState =
  | {
      readonly kind: "written";
      /**
       * The Secrets whose credentials differ from the file's (all of them for a first write),
       * by name, in the file's order.
       */
      readonly credentialsChanged: readonly string[];
      /** The rules differ from those of an existing valid file. */
      readonly rulesChanged: boolean;
    }
  | { readonly kind: "unchanged" }
  /** Nothing to write: the part is neither in the cluster nor on the node. */
  | { readonly kind: "incomplete"; readonly missing: readonly string[] }
  /** The ConfigMap's credential sets cannot be used with these Secrets; nothing written. */
  | { readonly kind: "refused"; readonly problems: readonly Problem[] };

export interface PolicyOutcome {
  /** The default Secret (the one the DaemonSet mounts). */
  readonly secret: SecretState;
  /**
   * Every other Secret the file's credential sets come from (the ConfigMap's when it is valid,
   * else the current file's), by name; empty when unscoped. A missing one is refused, not listed.
   */
  readonly setSecrets: ReadonlyMap<string, SecretState>;
  /** The ConfigMap's kubelet config hash when it is valid (its rules went into the file). */
  readonly configHash: string | null;
  readonly configResourceVersion: string;
  readonly configUid: string;
  readonly file: FileState;
}

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
