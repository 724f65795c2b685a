import { decodeStdBase64 } from "../../provider/core/base64.ts";
import type { Credential } from "../../provider/core/keyring.ts";
import { decodeUtf8 } from "../../provider/core/utf8.ts";
import { parseDockerConfig } from "./docker-config.ts";
import { problem, type Problem, type Result } from "./problems.ts";
import { isRecord, parseStrictYaml } from "./strict-yaml.ts";

/**
 * Secret → the credentials it holds, read by the provider's own Docker config reader. The Secret
 * must be of type `kubernetes.io/dockerconfigjson` with `.dockerconfigjson` in `data` (base64) or
 * `stringData` (which, as in the API server, wins). The one route for every copy of a Secret: the
 * object from the API (sync), a manifest file and a mounted volume (apply).
 */
export const dockerConfigJsonType = "kubernetes.io/dockerconfigjson";
export const dockerConfigJsonKey = ".dockerconfigjson";

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
  let text: string | null = null;
  const stringData = secret["stringData"];
  const data = secret["data"];
  if (isRecord(stringData) && typeof stringData[dockerConfigJsonKey] === "string") {
    text = stringData[dockerConfigJsonKey];
  } else if (isRecord(data) && data[dockerConfigJsonKey] !== undefined) {
    const encoded = data[dockerConfigJsonKey];
    // Decoded as the API server decodes `data`, so a Secret it accepted reads the same here;
    // then strict UTF-8 (a BOM is not stripped: Go's json refuses it, as the API server would).
    const bytes = typeof encoded === "string" ? decodeStdBase64(encoded) : undefined;
    if (bytes === undefined) {
      problems.push(problem(`data.${dockerConfigJsonKey}`, "not valid base64"));
    } else {
      const decoded = decodeUtf8(bytes);
      if (decoded === undefined) {
        problems.push(problem(`data.${dockerConfigJsonKey}`, "not valid UTF-8"));
      } else text = decoded;
    }
  } else {
    problems.push(problem(`data.${dockerConfigJsonKey}`, "Required value"));
  }
  if (text !== null) {
    const parsed = parseDockerConfig(text);
    if (!parsed.ok) {
      for (const p of parsed.problems) problems.push(problem(`data.${dockerConfigJsonKey}`, p));
    } else if (problems.length === 0) {
      return { ok: true, value: parsed.entries };
    }
  }
  return { ok: false, problems };
}

export function credentialsFromSecretText(text: string): Result<readonly Credential[]> {
  const parsed = parseStrictYaml(text, "secret");
  if (!parsed.ok) return parsed;
  return credentialsFromSecret(parsed.value);
}
