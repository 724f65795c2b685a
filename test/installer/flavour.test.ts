// The flavour detection table (installer/core/node/flavour.ts detectionRules) as data: every fact
// it reads is one the shell reports, and no rule is hidden by an earlier one. The cases per host
// kind are in core.test.ts "flavour detection".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  detectFlavour,
  detectionRules,
  markerPaths,
  type HostFact,
  type HostFacts,
} from "../../installer/core/node/flavour.ts";

/** A host that shows exactly these facts. */
function hostWith(facts: readonly HostFact[]): HostFacts {
  const osRelease: Record<string, string> = {};
  const existing = new Set<string>();
  for (const f of facts) {
    if ("path" in f) existing.add(f.path);
    else if ("id" in f) osRelease["ID"] = f.id;
    else osRelease["ID_LIKE"] = `${osRelease["ID_LIKE"] ?? ""} ${f.idWord}`.trim();
  }
  return { osRelease, existing };
}

describe("flavour detection rules", () => {
  it("every path a rule reads is one the shell reports (markerPaths)", () => {
    const reported = new Set(markerPaths);
    for (const rule of detectionRules) {
      for (const f of [...rule.anyOf, ...(rule.andAnyOf ?? [])]) {
        if ("path" in f) assert.ok(reported.has(f.path), `${rule.flavour}: ${f.path}`);
      }
    }
  });

  for (const [i, rule] of detectionRules.entries()) {
    it(`rule ${String(i)} (${rule.flavour}): each of its facts alone detects it`, () => {
      for (const f of rule.anyOf) {
        const also = rule.andAnyOf?.[0];
        const host = hostWith(also === undefined ? [f] : [f, also]);
        assert.equal(detectFlavour(host), rule.flavour, JSON.stringify(f));
      }
    });
  }

  it("a host with none of the facts: no flavour (the user passes --flavour)", () => {
    assert.equal(
      detectFlavour(hostWith([{ idWord: "arch" }, { path: "/etc/eks/bootstrap.sh" }])),
      null,
    );
  });
});
