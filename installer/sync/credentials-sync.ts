import type { KubeApi, ObjectRef } from "../cluster/kube-api.ts";
import type { Problem } from "../core/problems.ts";
import { credentialsFileFromSecret } from "../core/secret.ts";

/**
 * One pass of credentials sync: the Secret as it is now → the bytes of the host credentials
 * file → a compare-first atomic write. A missing or malformed Secret changes nothing on the host:
 * the last good file stays, and the outcome says why (for the Event and the metrics).
 */
export type CredentialsOutcome =
  | { readonly kind: "written"; readonly resourceVersion: string }
  | { readonly kind: "unchanged"; readonly resourceVersion: string }
  | { readonly kind: "missing" }
  | {
      readonly kind: "invalid";
      readonly resourceVersion: string;
      /** The Secret's uid, so the Event is found by `kubectl describe secret`. */
      readonly uid: string;
      readonly problems: readonly Problem[];
    };

export async function syncCredentials(deps: {
  api: KubeApi;
  secret: ObjectRef;
  /** Atomic, compare-first write of the credentials file; true when the bytes changed. */
  write: (bytes: Uint8Array) => Promise<boolean>;
}): Promise<CredentialsOutcome> {
  const secret = await deps.api.get("secrets", deps.secret);
  if (secret === null) return { kind: "missing" };
  const metadata = secret["metadata"] as { resourceVersion?: string; uid?: string } | undefined;
  const resourceVersion = metadata?.resourceVersion ?? "";
  // The API server leaves out `kind` on objects inside lists and some clients drop it; the
  // object came from the secrets endpoint, so it is a Secret.
  const file = credentialsFileFromSecret({ ...secret, kind: "Secret" });
  if (!file.ok) {
    return { kind: "invalid", resourceVersion, uid: metadata?.uid ?? "", problems: file.problems };
  }
  const changed = await deps.write(file.value);
  return { kind: changed ? "written" : "unchanged", resourceVersion };
}
