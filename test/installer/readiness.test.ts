// When a node's sync container is ready (installer/core/rollout/readiness.ts): the one rule the
// DaemonSet's rollout waits on, node by node. Each row names the condition; the reason is the
// stable sentence `/readyz` answers and the node report carries.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PolicyOutcome, SecretState } from "../../installer/core/report/outcomes.ts";
import {
  notReadyReason,
  policyInStep,
  type ReadinessInputs,
} from "../../installer/core/rollout/readiness.ts";

const ok: SecretState = { kind: "ok", resourceVersion: "5" };
const pass = (over: Partial<PolicyOutcome> = {}): PolicyOutcome => ({
  secret: ok,
  setSecrets: new Map(),
  configHash: "h1",
  configResourceVersion: "7",
  configUid: "u",
  file: { kind: "unchanged" },
  ...over,
});
const ready: ReadinessInputs = {
  policy: pass(),
  defaultSecret: "nodecred-credentials",
  appliedRecorded: true,
  appliedHash: "h1",
  podConfigHash: "h1",
  kubeletHealthy: true,
};
const invalid: SecretState = { kind: "invalid", resourceVersion: "6", uid: "s", problems: [] };

describe("notReadyReason", () => {
  const cases: [string, Partial<ReadinessInputs>, string | null][] = [
    ["everything in step: ready", {}, null],
    [
      "a written file is as good as an unchanged one",
      { policy: pass({ file: { kind: "written", credentialsChanged: [], rulesChanged: false } }) },
      null,
    ],
    ["no policy pass yet", { policy: null }, "policy file not synced yet (no pass yet)"],
    [
      "the default Secret not found",
      { policy: pass({ secret: { kind: "missing" } }) },
      "policy file not synced yet (Secret nodecred-credentials missing)",
    ],
    [
      "the default Secret not listed yet",
      { policy: pass({ secret: { kind: "unknown" } }) },
      "policy file not synced yet (Secret nodecred-credentials unknown)",
    ],
    [
      "a credential set's Secret rejected, the default one fine",
      {
        policy: pass({
          setSecrets: new Map<string, SecretState>([
            ["team-a", ok],
            ["team-b", invalid],
          ]),
        }),
      },
      "policy file not synced yet (Secret team-b invalid)",
    ],
    [
      "no file: a part is in neither place",
      { policy: pass({ file: { kind: "incomplete", missing: ["credentials", "matchImages"] } }) },
      "policy file not synced yet (no valid credentials or matchImages)",
    ],
    [
      "the ConfigMap refused with the Secrets as they are",
      { policy: pass({ file: { kind: "refused", problems: [] } }) },
      "policy file not synced yet (ConfigMap refused with the Secrets as they are)",
    ],
    [
      "apply recorded nothing",
      { appliedHash: null },
      "no applied config recorded by the apply init container",
    ],
    ["no record expected (a bare run): ready", { appliedRecorded: false, appliedHash: null }, null],
    [
      "the node runs another config than this pod stands for (a rollout under way)",
      { appliedHash: "h0" },
      "node runs kubelet config h0, this pod stands for h1",
    ],
    [
      "a pod created before any rollout stands for whatever runs",
      { podConfigHash: "", appliedHash: "h0" },
      null,
    ],
    ["the kubelet not healthy", { kubeletHealthy: false }, "kubelet not healthy"],
    [
      "the policy file is named first: it is what pulls depend on",
      { policy: null, appliedHash: null, kubeletHealthy: false },
      "policy file not synced yet (no pass yet)",
    ],
    [
      "the applied config before the kubelet's health",
      { appliedHash: "h0", kubeletHealthy: false },
      "node runs kubelet config h0, this pod stands for h1",
    ],
  ];
  for (const [name, over, want] of cases) {
    it(name, () => {
      assert.equal(notReadyReason({ ...ready, ...over }), want);
    });
  }
});

describe("policyInStep", () => {
  it("only a written or unchanged file with every Secret as it is now", () => {
    assert.equal(policyInStep(pass()), true);
    assert.equal(policyInStep(pass({ secret: invalid })), false);
    assert.equal(
      policyInStep(
        pass({ setSecrets: new Map<string, SecretState>([["s", { kind: "missing" }]]) }),
      ),
      false,
    );
    assert.equal(policyInStep(pass({ file: { kind: "refused", problems: [] } })), false);
  });
});
