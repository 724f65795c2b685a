// CredentialProviderResponse (k8s.io/kubelet/pkg/apis/credentialprovider/v1/types.go), written with
// only the fields the kubelet's strict decoder knows, in the order kind, apiVersion, cacheKeyType,
// cacheDuration, auth.
//
// auth keys: the kubelet turns `auth` into a DockerConfig and feeds it to the same
// BasicDockerKeyring it uses for imagePullSecrets (pkg/credentialprovider/plugin/plugin.go
// provide(); keyring.go providersDockerKeyring.Lookup), which normalises each key and matches it
// against the image again. We therefore return each matching entry under its key exactly as
// written in the credentials file: the kubelet re-derives the same normalised key, the same
// reverse-lexicographic order and the same Docker Hub fallback as for the Secret itself.
// (Returning normalised keys instead would be wrong: normalisation is not idempotent, e.g.
// "reg.io/v1/v2/x" -> "reg.io/v2/x" -> "reg.io/x".)

import { formatGoDuration } from "./duration.ts";
import { lookup, type Credential, type Keyring, type LookupResult } from "./keyring.ts";
import type { ApiVersion } from "./request.ts";
import { hostsMatch, parseSchemelessUrl, type SchemelessUrl } from "./url-match.ts";

export type CacheKeyType = "Image" | "Registry";

export interface ProviderAnswer {
  readonly cacheKeyType: CacheKeyType;
  /** Go duration text; "0s" tells the kubelet to use the answer once and not cache it. */
  readonly cacheDuration: string;
  readonly auth: readonly Credential[];
}

/**
 * Which cache key keeps a cached answer right for every later image that hits it.
 *
 * The kubelet looks a cached answer up by image, then by registry (the image up to its first "/"),
 * then globally, and hands the cached auth map to its keyring, which re-matches the keys against
 * the new image. A Registry-keyed answer for image X is therefore reused for every image Y of the
 * same registry string. Wrong credentials cannot reach Y that way (the re-match drops keys that do
 * not match Y); the danger is withholding: a key that matches Y but not X is not in X's answer.
 *  - Y has the same host and port as X (they share the registry string), so keys without a path
 *    match Y exactly when they match X.
 *  - A key with a path whose host matches could match Y but not X: its presence forces Image.
 *  - The Docker Hub fallback applies to X and Y alike: both have no matching key, and
 *    isDefaultRegistryMatch depends only on the registry string once the image has a "/". An image
 *    without "/" (which the kubelet never sends: it normalises "busybox" to
 *    "docker.io/library/busybox") is cached per image, to stay on the safe side.
 *  - Global would reuse the answer across registries: never right, the answer depends on the image.
 *  - With a live policy the kubelet's own matchImages are only an envelope, so its cache is the
 *    last word: a live rule with a path whose host matches (`reg.io/team`) decides per path, and
 *    forces Image like a key with a path, or a cached answer would reach `reg.io/other`.
 */
export function chooseCacheKeyType(
  keyring: Keyring,
  image: string,
  rules: readonly SchemelessUrl[] = [],
): CacheKeyType {
  if (!image.includes("/")) return "Image";
  const target = parseSchemelessUrl(image);
  if (!target.ok) return "Image";
  const decidesByPath = (u: SchemelessUrl): boolean => u.path !== "" && hostsMatch(u, target.url);
  for (const key of keyring.index) {
    const k = parseSchemelessUrl(key);
    if (k.ok && decidesByPath(k.url)) return "Image";
  }
  return rules.some(decidesByPath) ? "Image" : "Registry";
}

/** Nothing from us for this image, and not cached: the kubelet asks again on the next pull. */
export const EMPTY_ANSWER: ProviderAnswer = {
  cacheKeyType: "Image",
  cacheDuration: "0s",
  auth: [],
};

/** The answer for one image: every matching credential, or the empty answer. */
export function answerFor(
  keyring: Keyring,
  image: string,
  cacheDurationNs: bigint,
  rules: readonly SchemelessUrl[] = [],
): ProviderAnswer {
  return answerFromLookup(lookup(keyring, image), keyring, image, cacheDurationNs, rules);
}

/** answerFor, once the keyring lookup for the image is done. */
export function answerFromLookup(
  result: LookupResult,
  keyring: Keyring,
  image: string,
  cacheDurationNs: bigint,
  rules: readonly SchemelessUrl[] = [],
): ProviderAnswer {
  if (result.credentials.length === 0) return EMPTY_ANSWER;
  return {
    cacheKeyType: chooseCacheKeyType(keyring, image, rules),
    cacheDuration: formatGoDuration(cacheDurationNs),
    auth: result.credentials,
  };
}

/** The response document, one line, newline-terminated. */
export function encodeResponse(apiVersion: ApiVersion, answer: ProviderAnswer): string {
  // Built by hand so that key order is the lookup order (JSON.stringify on an object would move
  // integer-like keys first).
  const auth = answer.auth
    .map(
      (c) =>
        `${JSON.stringify(c.key)}:{"username":${JSON.stringify(c.username)},"password":${JSON.stringify(c.password)}}`,
    )
    .join(",");
  return (
    `{"kind":"CredentialProviderResponse","apiVersion":${JSON.stringify(apiVersion)},` +
    `"cacheKeyType":"${answer.cacheKeyType}","cacheDuration":"${answer.cacheDuration}",` +
    `"auth":{${auth}}}\n`
  );
}
