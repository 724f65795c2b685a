import { decodeStdBase64 } from "../../../provider/core/base64.ts";
import type { Credential } from "../../../provider/core/keyring.ts";
import { decodeUtf8, encodeUtf8 } from "../../../provider/core/utf8.ts";
import { parseDockerConfig } from "./docker-config.ts";
import { problem, type Problem, type Result } from "../problems.ts";
import { isRecord, parseStrictYaml } from "../strict-yaml.ts";

/**
 * Secret → the credentials it holds, read by the provider's own Docker config reader. The Secret
 * must be of type `kubernetes.io/dockerconfigjson` with `.dockerconfigjson` in `data` (base64) or
 * `stringData` (which, as in the API server, wins).
 *
 * One pipeline for every copy of a Secret: whatever the route — the object from the API (sync),
 * a manifest file, the file the kubelet writes into a mounted Secret volume (apply) — it ends in
 * the `.dockerconfigjson` bytes, and `credentialsFromDockerConfigJson` applies one set of rules
 * to them, so the same bytes get the same answer everywhere.
 */
export const dockerConfigJsonType = "kubernetes.io/dockerconfigjson";
export const dockerConfigJsonKey = ".dockerconfigjson";

/**
 * The API server's bound on a Secret (ValidateSecret: the values' bytes may not exceed
 * core.MaxSecretSize, 1 MiB). A mounted volume or a manifest file is held to it too.
 */
export const maxSecretBytes = 1024 * 1024;

/** Where `.dockerconfigjson` came from, for problem paths (a volume file is `data`, decoded). */
export const dockerConfigJsonPath = {
  data: `data.${dockerConfigJsonKey}`,
  stringData: `stringData.${dockerConfigJsonKey}`,
} as const;

const bom = [0xef, 0xbb, 0xbf];

/** The problem with a `.dockerconfigjson` of `size` bytes, over the limit (every route's). */
export function secretTooLarge(size: number): string {
  return `${String(size)} bytes: the API server accepts at most 1 MiB (${String(maxSecretBytes)} bytes) in a Secret`;
}

/**
 * The `.dockerconfigjson` bytes → credentials, in document order: at most 1 MiB, strict UTF-8
 * (the bytes are never repaired), no byte-order mark (Go's encoding/json, and so the kubelet,
 * refuses one; stripping it would accept what the kubelet does not), then the provider's
 * parseDockerConfig. Problems never hold a credential.
 */
export function credentialsFromDockerConfigJson(
  bytes: ArrayLike<number>,
  path: string = dockerConfigJsonPath.data,
): Result<readonly Credential[]> {
  const fail = (message: string): Result<readonly Credential[]> => ({
    ok: false,
    problems: [problem(path, message)],
  });
  if (bytes.length > maxSecretBytes) return fail(secretTooLarge(bytes.length));
  if (bom.every((b, i) => bytes[i] === b)) {
    return fail("starts with a UTF-8 byte-order mark, which JSON (and the kubelet) does not allow");
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) return fail("not valid UTF-8");
  const parsed = parseDockerConfig(text);
  if (!parsed.ok) return { ok: false, problems: parsed.problems.map((p) => problem(path, p)) };
  return { ok: true, value: parsed.entries };
}

/** From the Secret object (already parsed), its credentials in document order. */
export function credentialsFromSecret(secret: unknown): Result<readonly Credential[]> {
  if (!isRecord(secret)) return { ok: false, problems: [problem("secret", "not a mapping")] };
  const problems: Problem[] = [];
  if (secret["kind"] !== "Secret") {
    problems.push(problem("kind", `expected Secret, got ${JSON.stringify(secret["kind"])}`));
  }
  if (secret["type"] !== dockerConfigJsonType) {
    problems.push(
      problem("type", `expected ${dockerConfigJsonType}, got ${JSON.stringify(secret["type"])}`),
    );
  }
  let found: { bytes: ArrayLike<number>; path: string } | null = null;
  const stringData = secret["stringData"];
  const data = secret["data"];
  if (isRecord(stringData) && typeof stringData[dockerConfigJsonKey] === "string") {
    // The API server stores stringData as its UTF-8 bytes (a lone surrogate, which JSON can
    // spell but UTF-8 cannot, as U+FFFD, like Go).
    found = {
      bytes: encodeUtf8(stringData[dockerConfigJsonKey]),
      path: dockerConfigJsonPath.stringData,
    };
  } else if (isRecord(data) && data[dockerConfigJsonKey] !== undefined) {
    const encoded = data[dockerConfigJsonKey];
    // Decoded as the API server decodes `data`, so a Secret it accepted reads the same here.
    const bytes = typeof encoded === "string" ? decodeStdBase64(encoded) : undefined;
    if (bytes === undefined) problems.push(problem(dockerConfigJsonPath.data, "not valid base64"));
    else found = { bytes, path: dockerConfigJsonPath.data };
  } else {
    problems.push(problem(dockerConfigJsonPath.data, "Required value"));
  }
  if (found !== null) {
    const credentials = credentialsFromDockerConfigJson(found.bytes, found.path);
    if (!credentials.ok) problems.push(...credentials.problems);
    else if (problems.length === 0) return credentials;
  }
  return { ok: false, problems };
}

export function credentialsFromSecretText(text: string): Result<readonly Credential[]> {
  const parsed = parseStrictYaml(text, "secret");
  if (!parsed.ok) return parsed;
  return credentialsFromSecret(parsed.value);
}
