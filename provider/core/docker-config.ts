// The Docker config JSON a `kubernetes.io/dockerconfigjson` Secret holds, read the way the kubelet
// reads it (pkg/credentialprovider/config.go: DockerConfigJSON, DockerConfigEntry.UnmarshalJSON,
// decodeDockerConfigFieldAuth), but validated more strictly: where the kubelet silently keeps an
// entry that can never authenticate (no credentials, a key url.Parse rejects), we report a problem.
// Problems name the JSON path and never contain a username, password or auth value.

import { decodeDockerAuthBase64 } from "./base64.ts";
import { goField, isRecord, parseJsonObject } from "./json-fields.ts";
import { normalizeKey, type Credential } from "./keyring.ts";
import { decodeUtf8 } from "./utf8.ts";

export type DockerConfigEntry = Credential;

export type DockerConfigResult =
  | {
      readonly ok: true;
      readonly entries: ReadonlyArray<{ key: string; username: string; password: string }>;
    }
  | { readonly ok: false; readonly problems: string[] };

/** A key for messages: userinfo ("user:pass@") in a key is replaced, in case it holds a secret. */
export function describeKey(key: string): string {
  const scheme = key.startsWith("https://") ? 8 : key.startsWith("http://") ? 7 : 0;
  const slash = key.indexOf("/", scheme);
  const authorityEnd = slash < 0 ? key.length : slash;
  const at = key.lastIndexOf("@", authorityEnd - 1);
  const shown = at >= scheme ? key.slice(0, scheme) + "REDACTED@" + key.slice(at + 1) : key;
  return JSON.stringify(shown);
}

// Fields the Docker CLI writes that the kubelet does not read; an entry holding only these
// authenticates as anonymous, which is worth saying.
const IGNORED_TOKEN_FIELDS = ["identitytoken", "registrytoken"];

type StringField = { readonly ok: true; readonly value: string } | { readonly ok: false };

function stringField(
  entry: Readonly<Record<string, unknown>>,
  name: string,
  path: string,
  problems: string[],
): StringField {
  const f = goField(entry, name);
  if (f.kind === "absent") return { ok: true, value: "" };
  if (f.kind === "ambiguous") {
    problems.push(
      `${path}: field "${name}" is given more than once (${f.spellings.map((s) => JSON.stringify(s)).join(", ")})`,
    );
    return { ok: false };
  }
  // JSON null leaves a Go string field empty.
  if (f.value === null) return { ok: true, value: "" };
  if (typeof f.value !== "string") {
    problems.push(`${path}.${name}: must be a string`);
    return { ok: false };
  }
  return { ok: true, value: f.value };
}

export type AuthFieldResult =
  | { readonly ok: true; readonly username: string; readonly password: string }
  | { readonly ok: false; readonly problem: string };

/**
 * decodeDockerConfigFieldAuth: base64 (padded or not), then split at the first ":". One deliberate
 * difference: bytes that are not UTF-8 are refused, since the response (JSON) could not carry them.
 */
export function decodeAuthField(field: string): AuthFieldResult {
  const bytes = decodeDockerAuthBase64(field);
  if (bytes === undefined) return { ok: false, problem: "not valid base64" };
  const decoded = decodeUtf8(bytes);
  if (decoded === undefined) return { ok: false, problem: "the decoded value is not valid UTF-8" };
  const colon = decoded.indexOf(":");
  if (colon < 0) {
    return { ok: false, problem: 'the decoded value is not "username:password" (no colon)' };
  }
  return { ok: true, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function parseEntry(key: string, entry: unknown, problems: string[]): Credential | undefined {
  const path = `auths[${describeKey(key)}]`;
  const before = problems.length;
  if (key === "") problems.push(`${path}: the registry key is empty`);
  else if (normalizeKey(key) === undefined) {
    problems.push(`${path}: the registry key is not a valid URL, so the kubelet ignores it`);
  }
  if (!isRecord(entry)) {
    problems.push(`${path}: must be an object`);
    return undefined;
  }
  const username = stringField(entry, "username", path, problems);
  const password = stringField(entry, "password", path, problems);
  const auth = stringField(entry, "auth", path, problems);
  stringField(entry, "email", path, problems);
  if (!username.ok || !password.ok || !auth.ok) return undefined;

  let user = username.value;
  let pass = password.value;
  if (auth.value.length > 0) {
    // A non-empty auth replaces username and password, as in DockerConfigEntry.UnmarshalJSON.
    const decoded = decodeAuthField(auth.value);
    if (!decoded.ok) {
      problems.push(`${path}.auth: ${decoded.problem}`);
      return undefined;
    }
    user = decoded.username;
    pass = decoded.password;
  }
  if (user === "" && pass === "") {
    const tokens = IGNORED_TOKEN_FIELDS.filter((t) => goField(entry, t).kind !== "absent");
    problems.push(
      tokens.length > 0
        ? `${path}: has only ${tokens.join("/")}, which the kubelet does not use; give auth or username and password`
        : `${path}: has no credentials; give auth, or username and password`,
    );
  }
  return problems.length === before ? { key, username: user, password: pass } : undefined;
}

/**
 * Parses and validates Docker config JSON (`{"auths": {KEY: {auth | username+password, email}}}`).
 * Entries come back in document order with the key exactly as written.
 */
export function parseDockerConfig(text: string): DockerConfigResult {
  const parsed = parseJsonObject(text, "not valid JSON", "the document must be a JSON object");
  if (!parsed.ok) return { ok: false, problems: [parsed.problem] };
  const { doc } = parsed;
  const auths = goField(doc, "auths");
  if (auths.kind === "ambiguous") {
    return { ok: false, problems: [`field "auths" is given more than once`] };
  }
  if (auths.kind === "absent") {
    return {
      ok: false,
      problems: [
        'auths: missing (expected {"auths": {...}}, as in a kubernetes.io/dockerconfigjson Secret)',
      ],
    };
  }
  return parseAuths(auths.value);
}

/**
 * The `auths` object of a Docker config (also the `auths` of a nodecred policy file): every entry
 * read the kubelet's way, in document order, with the key exactly as written.
 */
export function parseAuths(auths: unknown): DockerConfigResult {
  if (!isRecord(auths)) return { ok: false, problems: ["auths: must be an object"] };
  const keys = Object.keys(auths);
  if (keys.length === 0) return { ok: false, problems: ["auths: is empty"] };
  const problems: string[] = [];
  const entries: Credential[] = [];
  for (const key of keys) {
    const entry = parseEntry(key, auths[key], problems);
    if (entry !== undefined) entries.push(entry);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, entries };
}
