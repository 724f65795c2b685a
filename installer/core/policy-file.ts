import type { Credential } from "../../provider/core/keyring.ts";
import { formatPolicy, type Policy } from "../../provider/core/policy.ts";
import type { Result } from "./problems.ts";

/**
 * The node's policy file (provider/core/policy.ts holds its format and its reader): the
 * ConfigMap's matchImages and the Secret's credentials, always written together, so a pull never
 * sees new rules with old credentials or the reverse.
 */
export function policyFileBytes(
  matchImages: readonly string[],
  credentials: readonly Credential[],
): Uint8Array {
  return new TextEncoder().encode(formatPolicy(matchImages, credentials));
}

export interface PolicySources {
  /** The Secret's credentials; null when the Secret does not exist. */
  readonly credentials: Result<readonly Credential[]> | null;
  /** The ConfigMap's matchImages (once the whole ConfigMap is valid); null when it does not exist. */
  readonly matchImages: Result<readonly string[]> | null;
  /** The node's policy file as it is (null: absent or not a valid policy). */
  readonly current: Policy | null;
}

export type NextPolicy =
  | { readonly ok: true; readonly bytes: Uint8Array }
  /** Nothing can be written: a part is unavailable in the cluster and on the node alike. */
  | { readonly ok: false; readonly missing: readonly ("credentials" | "matchImages")[] };

/**
 * What the policy file should hold now. A part whose object is missing or invalid keeps its value
 * from the node's current file (the last good one), so a bad Secret never changes the rules and a
 * bad ConfigMap never changes the credentials.
 */
export function nextPolicy(sources: PolicySources): NextPolicy {
  const { current } = sources;
  const good = <T>(r: Result<T> | null): T | undefined => (r?.ok === true ? r.value : undefined);
  const credentials = good(sources.credentials) ?? current?.credentials;
  const matchImages = good(sources.matchImages) ?? current?.rules.map((r) => r.pattern);
  if (credentials === undefined || matchImages === undefined) {
    return {
      ok: false,
      missing: [
        ...(credentials === undefined ? (["credentials"] as const) : []),
        ...(matchImages === undefined ? (["matchImages"] as const) : []),
      ],
    };
  }
  return { ok: true, bytes: policyFileBytes(matchImages, credentials) };
}
