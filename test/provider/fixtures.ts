// Shared test data. Passwords are distinctive so that a grep of every stderr can prove none leaks.

import { encodeBase64Utf8 } from "../../provider/core/base64.ts";
import type { Credential } from "../../provider/core/keyring.ts";
import { formatPolicy, type CredentialSet } from "../../provider/core/policy.ts";

export const PASSWORDS = [
  "pw-alpha-7f3a",
  "pw-beta-91c2",
  "pw-hub-55d0",
  "pw-team-0b8e",
  "pw:colon-e4",
  // The scoped policy's sets.
  "pw-set-a-4c1e",
  "pw-set-ci-8d2f",
  "pw-set-b-73aa",
];

export function request(
  image: string,
  apiVersion = "credentialprovider.kubelet.k8s.io/v1",
): string {
  // Byte for byte what the kubelet writes (plugin_test.go Test_encodeRequest).
  return `{"kind":"CredentialProviderRequest","apiVersion":"${apiVersion}","image":"${image}"}\n`;
}

/** A CredentialProviderResponse exactly as the provider writes it; auth in lookup order. */
export function answer(
  cacheKeyType: "Image" | "Registry",
  cacheDuration: string,
  auth: Readonly<Record<string, readonly [string, string]>>,
  apiVersion = "credentialprovider.kubelet.k8s.io/v1",
): string {
  const entries = Object.entries(auth).map(
    ([k, [u, p]]) =>
      `${JSON.stringify(k)}:{"username":${JSON.stringify(u)},"password":${JSON.stringify(p)}}`,
  );
  return `{"kind":"CredentialProviderResponse","apiVersion":"${apiVersion}","cacheKeyType":"${cacheKeyType}","cacheDuration":"${cacheDuration}","auth":{${entries.join(",")}}}\n`;
}

/** The answer for an image that gets nothing from us: no credentials, not cached. */
export function emptyAnswer(apiVersion = "credentialprovider.kubelet.k8s.io/v1"): string {
  return answer("Image", "0s", {}, apiVersion);
}

export const CREDENTIALS = JSON.stringify({
  auths: {
    "reg.example.com": { auth: encodeBase64Utf8("alice:pw-alpha-7f3a"), email: "a@example.com" },
    "https://reg.example.com/v2/team": { username: "team", password: "pw-team-0b8e" },
    "*.corp.example": { username: "bob", password: "pw-beta-91c2" },
    "https://index.docker.io/v1/": { auth: encodeBase64Utf8("hubuser:pw-hub-55d0") },
    "10.0.0.5:5000": { auth: encodeBase64Utf8("carol:pw:colon-e4").replace(/=+$/, "") },
    "[fd00::1]:5000": { username: "v6", password: "pw-alpha-7f3a" },
  },
});

/**
 * A policy file as the installer writes it (formatPolicy): the same passwords, behind live rules
 * that leave some of the keys' images out (reg.example.com outside /team, Docker Hub outside
 * library/) and one rule no key answers (ghcr.io).
 */
export const POLICY_RULES = [
  "reg.example.com/team",
  "*.corp.example",
  "docker.io/library",
  "10.0.0.5:5000",
  "ghcr.io",
];

export const POLICY_CREDENTIALS: readonly Credential[] = [
  { key: "reg.example.com", username: "alice", password: "pw-alpha-7f3a" },
  { key: "https://reg.example.com/v2/team", username: "team", password: "pw-team-0b8e" },
  { key: "*.corp.example", username: "bob", password: "pw-beta-91c2" },
  { key: "https://index.docker.io/v1/", username: "hubuser", password: "pw-hub-55d0" },
  { key: "10.0.0.5:5000", username: "carol", password: "pw:colon-e4" },
];

export const POLICY = formatPolicy(POLICY_RULES, {
  scoped: false,
  credentials: POLICY_CREDENTIALS,
});

/** The same credentials as a plain Docker config (the --credentials format). */
export const POLICY_CREDENTIALS_AS_DOCKER_CONFIG = JSON.stringify({
  auths: Object.fromEntries(
    POLICY_CREDENTIALS.map((c) => [c.key, { username: c.username, password: c.password }]),
  ),
});

/**
 * A scoped policy (credential sets), as the installer writes it for
 *   team-a: {secret: team-a-registry, namespaces: [team-a, "team-a-*"]}
 *   team-a-ci: {secret: team-a-ci-registry, namespaces: [team-a], onlyWhenSelected: true}
 *   team-b: {secret: team-b-registry, namespaces: [team-b]}
 *   default (implicit, last): the default Secret, every namespace
 * Teams share a registry (reg.example.com) with different accounts; the default Secret holds only
 * the corp registry's credentials.
 */
export const SCOPED_RULES = ["reg.example.com", "*.corp.example"];

export const SCOPED_SETS: readonly CredentialSet[] = [
  {
    name: "team-a",
    secret: "team-a-registry",
    namespaces: ["team-a", "team-a-*"],
    onlyWhenSelected: false,
    credentials: [{ key: "reg.example.com", username: "team-a", password: "pw-set-a-4c1e" }],
  },
  {
    name: "team-a-ci",
    secret: "team-a-ci-registry",
    namespaces: ["team-a"],
    onlyWhenSelected: true,
    credentials: [{ key: "reg.example.com", username: "team-a-ci", password: "pw-set-ci-8d2f" }],
  },
  {
    name: "team-b",
    secret: "team-b-registry",
    namespaces: ["team-b"],
    onlyWhenSelected: false,
    credentials: [{ key: "reg.example.com", username: "team-b", password: "pw-set-b-73aa" }],
  },
  {
    name: "default",
    secret: null,
    namespaces: ["*"],
    onlyWhenSelected: false,
    credentials: [{ key: "*.corp.example", username: "bob", password: "pw-beta-91c2" }],
  },
];

export const SCOPED_POLICY = formatPolicy(SCOPED_RULES, { scoped: true, sets: SCOPED_SETS });

/**
 * The signature part of every test token: recognisable, so that tests can prove no token text
 * reaches stdout or stderr (the provider never reads it).
 */
export const TOKEN_SIGNATURE = "FAKEsignatureNeverLeaks7e9f";
/** A claim value inside every test token's payload, likewise never to be echoed. */
export const TOKEN_MARKER = "tok-marker-2b7c";

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

/** A JWT with this payload (given as JSON text, or as claims), a fixed header and TOKEN_SIGNATURE. */
export function jwt(payload: string | Readonly<Record<string, unknown>>): string {
  const header = base64url('{"alg":"RS256","kid":"test-key"}');
  const body = base64url(typeof payload === "string" ? payload : JSON.stringify(payload));
  return `${header}.${body}.${TOKEN_SIGNATURE}`;
}

/** The claims the API server puts in a token for a pod's ServiceAccount (KEP-4412 audience). */
export function saClaims(
  namespace: string,
  aud: string | readonly string[] = ["nodecred.io"],
): Record<string, unknown> {
  return {
    aud,
    exp: 1_900_000_000,
    iat: 1_899_996_400,
    iss: "https://kubernetes.default.svc.cluster.local",
    jti: TOKEN_MARKER,
    "kubernetes.io": {
      namespace,
      node: { name: "node-1", uid: "9d5e2c1a-0000-4000-8000-000000000001" },
      pod: { name: "app-0", uid: "9d5e2c1a-0000-4000-8000-000000000002" },
      serviceaccount: { name: "app", uid: "9d5e2c1a-0000-4000-8000-000000000003" },
    },
    nbf: 1_899_996_400,
    sub: `system:serviceaccount:${namespace}:app`,
  };
}

/** A token for a pod in `namespace`, issued for nodecred's audience. */
export function saToken(namespace: string): string {
  return jwt(saClaims(namespace));
}

/** A request as the kubelet writes it in token mode (the token and annotations only when given). */
export function scopedRequest(
  image: string,
  token?: string,
  annotations?: Readonly<Record<string, string>>,
  apiVersion = "credentialprovider.kubelet.k8s.io/v1",
): string {
  return `${JSON.stringify({
    kind: "CredentialProviderRequest",
    apiVersion,
    image,
    ...(token === undefined ? {} : { serviceAccountToken: token }),
    ...(annotations === undefined ? {} : { serviceAccountAnnotations: annotations }),
  })}\n`;
}

/**
 * Pieces of token text that must never be written: the signature, the marker, and every aligned
 * 12-character piece of each part (so that any 23 characters of a part in a row are caught).
 */
export function tokenTexts(token: string): string[] {
  const texts = [TOKEN_SIGNATURE, TOKEN_MARKER];
  for (const part of token.split(".")) {
    for (let i = 0; i + 12 <= part.length; i += 12) texts.push(part.slice(i, i + 12));
  }
  return texts;
}
