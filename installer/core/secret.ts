import { decodeStdBase64 } from "../../provider/core/base64.ts";
import { decodeUtf8 } from "../../provider/core/utf8.ts";
import { parseDockerConfig } from "./docker-config.ts";
import { problem, type Result } from "./problems.ts";
import { isRecord, parseStrictYaml } from "./strict-yaml.ts";

/**
 * Secret → the credentials file the provider reads. The Secret must be of type
 * `kubernetes.io/dockerconfigjson` with `.dockerconfigjson` in `data` (base64) or `stringData`
 * (which, as in the API server, wins). The file is a canonical Docker config
 * (`{"auths":{key:{"password","username"}}}`, sorted keys, trailing newline) so equal
 * credentials always give equal bytes and the compare-first writer skips them.
 */
export const dockerConfigJsonType = "kubernetes.io/dockerconfigjson";
export const dockerConfigJsonKey = ".dockerconfigjson";

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** From the Secret object (already parsed), the bytes of the credentials file. */
export function credentialsFileFromSecret(secret: unknown): Result<Uint8Array> {
  if (!isRecord(secret)) return { ok: false, problems: [problem("secret", "not a mapping")] };
  const problems = [];
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
    } else if (parsed.entries.length === 0) {
      problems.push(problem(`data.${dockerConfigJsonKey}`, "auths is empty"));
    } else {
      const auths: Record<string, { username: string; password: string }> = {};
      for (const e of parsed.entries) auths[e.key] = { username: e.username, password: e.password };
      if (problems.length === 0) {
        return { ok: true, value: new TextEncoder().encode(`${canonicalJson({ auths })}\n`) };
      }
    }
  }
  return { ok: false, problems };
}

export function credentialsFileFromSecretText(text: string): Result<Uint8Array> {
  const parsed = parseStrictYaml(text, "secret");
  if (!parsed.ok) return parsed;
  return credentialsFileFromSecret(parsed.value);
}
