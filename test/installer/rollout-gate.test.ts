// The config loop's gate on the policy loop's verdict (installer/core/rollout/rollout-gate.ts): a
// ConfigMap version is rolled out only once the policy loop has looked at it with the Secrets, and
// never while it refuses it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rolloutGate, type PolicyVerdict } from "../../installer/core/rollout/rollout-gate.ts";

const cm = (resourceVersion: string): Record<string, unknown> => ({
  metadata: { name: "nodecred-config", resourceVersion, uid: "u1" },
  data: {},
});

describe("rolloutGate", () => {
  const cases: [string, Record<string, unknown> | null, PolicyVerdict | null, string][] = [
    ["no verdict yet: wait for the policy pass", cm("7"), null, "wait"],
    [
      "a verdict on an older version: wait",
      cm("8"),
      { resourceVersion: "7", refused: false },
      "wait",
    ],
    [
      "a verdict on a newer version (the watch is behind): wait",
      cm("7"),
      { resourceVersion: "8", refused: false },
      "wait",
    ],
    ["this version accepted: go", cm("7"), { resourceVersion: "7", refused: false }, "go"],
    ["this version refused: held", cm("7"), { resourceVersion: "7", refused: true }, "refused"],
    [
      "an older version refused, this one not seen: wait",
      cm("8"),
      { resourceVersion: "7", refused: true },
      "wait",
    ],
    ["the ConfigMap deleted: go on (syncConfig reports it)", null, null, "go"],
  ];
  for (const [name, configMap, verdict, want] of cases) {
    it(name, () => {
      assert.equal(rolloutGate(configMap, verdict), want);
    });
  }
});
