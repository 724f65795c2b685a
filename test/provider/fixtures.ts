// Shared test data. Passwords are distinctive so that a grep of every stderr can prove none leaks.

import { encodeBase64Utf8 } from "../../provider/core/base64.ts";
import type { Credential } from "../../provider/core/keyring.ts";
import { formatPolicy } from "../../provider/core/policy.ts";

export const PASSWORDS = [
  "pw-alpha-7f3a",
  "pw-beta-91c2",
  "pw-hub-55d0",
  "pw-team-0b8e",
  "pw:colon-e4",
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

export const POLICY = formatPolicy(POLICY_RULES, POLICY_CREDENTIALS);

/** The same credentials as a plain Docker config (the --credentials format). */
export const POLICY_CREDENTIALS_AS_DOCKER_CONFIG = JSON.stringify({
  auths: Object.fromEntries(
    POLICY_CREDENTIALS.map((c) => [c.key, { username: c.username, password: c.password }]),
  ),
});
