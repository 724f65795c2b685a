// The largest input the provider accepts, for the hostile-input tests and scripts/bench-provider:
// a policy file (as the installer writes it) just under MAX_FILE_BYTES, holding many registry keys
// and one very long one, and a request whose image matches a rule, so every key is looked at.

import { formatPolicy } from "../../provider/core/policy.ts";
import { MAX_FILE_BYTES } from "../../provider/core/run.ts";

export interface LargeInput {
  /** The policy file's text, at most maxBytes bytes (ASCII, so characters are bytes). */
  readonly policy: string;
  readonly request: string;
  /** How many credentials the policy holds. */
  readonly keys: number;
  /** The credential the request must be answered with. */
  readonly answerKey: string;
}

export const LARGE_IMAGE = "reg.example.com/team/app";

/**
 * `longKeyBytes`: the length of one host segment of one key (a literal: every lookup compares it
 * with the image's first segment). The rest is filled with short keys up to about maxBytes.
 */
export function largeInput(maxBytes = MAX_FILE_BYTES, longKeyBytes = 1024 * 1024): LargeInput {
  const rules = ["reg.example.com/team", "*.example.com"];
  const long = `${"a".repeat(longKeyBytes)}.example.com`;
  const creds = [
    { key: long, username: "long", password: "pw-long" },
    { key: "reg.example.com", username: "alice", password: "pw-alice" },
  ];
  const base = formatPolicy(rules, { scoped: false, credentials: creds }).length;
  // Each further entry: "kNNNNNNN.example.com":{"password":"p","username":"u"}, (53 bytes)
  const entry = `,"k0000000.example.com":{"password":"p","username":"u"}`.length;
  const n = Math.max(0, Math.floor((maxBytes - base - 1024) / entry));
  for (let i = 0; i < n; i++) {
    creds.push({ key: `k${String(i).padStart(7, "0")}.example.com`, username: "u", password: "p" });
  }
  const policy = formatPolicy(rules, { scoped: false, credentials: creds });
  if (policy.length > maxBytes) throw new Error(`large policy is ${String(policy.length)} bytes`);
  return {
    policy,
    request: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"${LARGE_IMAGE}"}\n`,
    keys: creds.length,
    answerKey: "reg.example.com",
  };
}
