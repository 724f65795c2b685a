import type { Credential } from "../../provider/core/keyring.ts";
import { versionOf, type ObjectVersion } from "../core/api-object.ts";
import type { Result } from "../core/problems.ts";
import { credentialsFromSecret } from "../core/settings/secret.ts";

/** A Secret of nodecred's namespace read for its credentials, and which version it was. */
export interface DecodedSecret extends ObjectVersion {
  readonly credentials: Result<readonly Credential[]>;
}

/**
 * Secret objects → their credentials (core/settings/secret.ts), remembered by name and resourceVersion.
 * Every policy pass reads every Secret the ConfigMap refers to, and decoding a 1 MiB Secret takes
 * 200-300 ms of the event loop: an unchanged one is not decoded again. Only the Secrets of the
 * last pass are remembered, so a Secret no set names any more leaves no credentials in memory.
 */
export interface SecretDecoder {
  /**
   * The referenced Secrets that exist in `objects`, decoded (or as remembered). A name absent
   * from `objects` is absent from the answer: the Secret does not exist.
   */
  decode(
    objects: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
    names: Iterable<string>,
  ): ReadonlyMap<string, DecodedSecret>;
}

export function secretDecoder(
  read: (secret: unknown) => Result<readonly Credential[]> = credentialsFromSecret,
): SecretDecoder {
  let remembered = new Map<string, DecodedSecret>();
  return {
    decode(objects, names) {
      const decoded = new Map<string, DecodedSecret>();
      for (const name of names) {
        const obj = objects.get(name);
        if (obj === undefined || decoded.has(name)) continue;
        const version = versionOf(obj);
        const known = remembered.get(name);
        if (
          known !== undefined &&
          version.resourceVersion !== "" &&
          known.resourceVersion === version.resourceVersion &&
          known.uid === version.uid
        ) {
          decoded.set(name, known);
          continue;
        }
        // The API server leaves out `kind` on objects inside lists and some clients drop it; the
        // object came from the secrets endpoint, so it is a Secret.
        decoded.set(name, { ...version, credentials: read({ ...obj, kind: "Secret" }) });
      }
      remembered = decoded;
      return decoded;
    },
  };
}
