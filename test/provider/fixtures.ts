// Shared test data. Passwords are distinctive so that a grep of every stderr can prove none leaks.

import { encodeBase64Utf8 } from "../../provider/core/base64.ts";

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
