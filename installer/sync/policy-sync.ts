import { parsePolicy, type Policy } from "../../provider/core/policy.ts";
import { versionOf, type ApiObject } from "../cluster/kube-api.ts";
import { nextPolicy } from "../core/policy-file.ts";
import { credentialsFromSecret } from "../core/secret.ts";
import { checkConfigMapObject, type RejectedVersion } from "./config-rollout.ts";

/**
 * One pass of policy sync: the Secret and the ConfigMap as they are now → the node's policy file
 * (matchImages + credentials, policy-file.ts) → a compare-first atomic write. The provider reads
 * that file on every exec, so the next pull sees the change: no kubelet restart, no cache. A
 * missing or invalid object changes nothing of its part: the node keeps its last good credentials
 * or rules, and the outcome says why (for the Events and the metrics).
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
      /** The credentials differ from the file's (true for a first write). */
      readonly credentialsChanged: boolean;
      /** The rules differ from those of an existing valid file. */
      readonly rulesChanged: boolean;
    }
  | { readonly kind: "unchanged" }
  /** Nothing to write: the part is neither in the cluster nor on the node. */
  | { readonly kind: "incomplete"; readonly missing: readonly string[] };

export interface PolicyOutcome {
  readonly secret: SecretState;
  /** The ConfigMap's kubelet config hash when it is valid (its rules went into the file). */
  readonly configHash: string | null;
  readonly configResourceVersion: string;
  readonly configUid: string;
  readonly file: FileState;
}

const decoder = new TextDecoder();

function readSecret(secret: ApiObject | undefined): {
  state: SecretState;
  credentials: ReturnType<typeof credentialsFromSecret> | null;
} {
  if (secret === undefined) return { state: { kind: "unknown" }, credentials: null };
  if (secret === null) return { state: { kind: "missing" }, credentials: null };
  const version = versionOf(secret);
  // The API server leaves out `kind` on objects inside lists and some clients drop it; the
  // object came from the secrets endpoint, so it is a Secret.
  const credentials = credentialsFromSecret({ ...secret, kind: "Secret" });
  const state: SecretState = credentials.ok
    ? { kind: "ok", resourceVersion: version.resourceVersion }
    : { kind: "invalid", ...version, problems: credentials.problems };
  return { state, credentials };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function syncPolicy(deps: {
  /** undefined: not listed (yet); its part of the file is kept as it is. */
  secret: ApiObject | undefined;
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
  const secret = readSecret(deps.secret);
  const config =
    deps.configMap === undefined
      ? ({ kind: "unknown" } as const)
      : checkConfigMapObject(deps.configMap);
  const currentBytes = await deps.read();
  const parsed = currentBytes === null ? null : parsePolicy(decoder.decode(currentBytes));
  const current: Policy | null = parsed?.ok === true ? parsed.policy : null;
  const next = nextPolicy({
    credentials: secret.credentials,
    matchImages:
      config.kind === "ok"
        ? { ok: true, value: config.config.settings.matchImages }
        : config.kind === "invalid"
          ? { ok: false, problems: config.problems }
          : null,
    current,
  });
  const outcome = {
    secret: secret.state,
    configHash: config.kind === "ok" ? config.config.hash : null,
    configResourceVersion:
      config.kind === "ok" || config.kind === "invalid" ? config.resourceVersion : "",
    configUid: config.kind === "ok" || config.kind === "invalid" ? config.uid : "",
  };
  if (!next.ok) return { ...outcome, file: { kind: "incomplete", missing: next.missing } };
  if (!(await deps.write(next.bytes))) return { ...outcome, file: { kind: "unchanged" } };
  const written = parsePolicy(decoder.decode(next.bytes));
  const after = written.ok ? written.policy : null;
  return {
    ...outcome,
    file: {
      kind: "written",
      credentialsChanged: !sameJson(current?.credentials, after?.credentials),
      // A first write (no valid file before) sets the rules; it does not change them.
      rulesChanged:
        current !== null &&
        !sameJson(
          current.rules.map((r) => r.pattern),
          after?.rules.map((r) => r.pattern),
        ),
    },
  };
}
