import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  leaseWrite,
  microTime,
  nodeReport,
  notReadyMaxLength,
  sameReport,
  withReadiness,
  type NodeReport,
  type PassOutcome,
  type SecretSeen,
} from "../../installer/core/report/node-report.ts";

const ok = (resourceVersion: string): SecretSeen => ({ kind: "ok", resourceVersion });
const invalid = (resourceVersion: string): SecretSeen => ({ kind: "invalid", resourceVersion });

/** A pass that took ConfigMap version 10 and Secret version 20, unscoped. */
function pass(change: Partial<PassOutcome> = {}): PassOutcome {
  return {
    secret: ok("20"),
    setSecrets: new Map(),
    configHash: "aaaa",
    configResourceVersion: "10",
    file: { kind: "written" },
    ...change,
  };
}

const current: NodeReport = {
  state: "current",
  configVersion: "10",
  credentialsVersion: "20",
  kubeletConfig: "k1",
  credentialSets: {},
};
const scoped: NodeReport = { ...current, credentialSets: { "team-a": "30", "team-b": "31" } };
const sets = (a: SecretSeen, b: SecretSeen): ReadonlyMap<string, SecretSeen> =>
  new Map([
    ["team-b", b],
    ["team-a", a],
  ]);

describe("the node report after a pass: what the policy file holds, and how it stands", () => {
  const cases: [string, NodeReport | null, PassOutcome, string | null, NodeReport | null][] = [
    ["first pass, file written", null, pass(), "k1", current],
    [
      "nothing changed: the file as it was",
      current,
      pass({ file: { kind: "unchanged" } }),
      "k1",
      current,
    ],
    [
      "rotation: the new Secret version",
      current,
      pass({ secret: ok("21") }),
      "k1",
      { ...current, credentialsVersion: "21" },
    ],
    [
      "live matchImages edit: the new ConfigMap version",
      current,
      pass({ configResourceVersion: "11" }),
      "k1",
      { ...current, configVersion: "11" },
    ],
    [
      "the kubelet runs another config after a rollout",
      current,
      pass({ file: { kind: "unchanged" } }),
      "k2",
      { ...current, kubeletConfig: "k2" },
    ],
    ["no apply status: no kubelet config", null, pass(), null, { ...current, kubeletConfig: "" }],
    [
      "Secrets not listed yet: nothing to say",
      null,
      pass({ secret: { kind: "unknown" }, file: { kind: "unchanged" } }),
      "k1",
      null,
    ],
    [
      "Secrets not listed any more: the last report stands",
      current,
      pass({ secret: { kind: "unknown" }, configResourceVersion: "11" }),
      "k2",
      current,
    ],
    [
      "an invalid Secret: its credentials kept, their version too",
      current,
      pass({ secret: invalid("21"), configResourceVersion: "11" }),
      "k1",
      { ...current, state: "secret-invalid", configVersion: "11" },
    ],
    [
      "the Secret deleted: the last credentials kept",
      current,
      pass({ secret: { kind: "missing" }, file: { kind: "unchanged" } }),
      "k1",
      { ...current, state: "secret-missing" },
    ],
    [
      "a ConfigMap the kubelet would reject: its rules not taken, the Secret's are",
      current,
      pass({ configHash: null, configResourceVersion: "11", secret: ok("21") }),
      "k1",
      { ...current, state: "refused", credentialsVersion: "21" },
    ],
    [
      "a ConfigMap refused with the Secrets as they are: nothing written, all kept",
      scoped,
      pass({
        configResourceVersion: "11",
        secret: ok("21"),
        setSecrets: sets(ok("32"), ok("33")),
        file: { kind: "refused" },
      }),
      "k1",
      { ...scoped, state: "refused" },
    ],
    [
      "no policy file and nothing to make one",
      null,
      pass({ secret: { kind: "missing" }, configHash: null, file: { kind: "incomplete" } }),
      "k1",
      { ...current, state: "incomplete", configVersion: "", credentialsVersion: "" },
    ],
    [
      "the ConfigMap not readable (a generated name): its version unknown, the rest current",
      null,
      pass({ configHash: null, configResourceVersion: "" }),
      "k1",
      { ...current, configVersion: "" },
    ],
    [
      "credential sets: each set's own Secret version",
      null,
      pass({ setSecrets: sets(ok("30"), ok("31")) }),
      "k1",
      scoped,
    ],
    [
      "a set's Secret rotated: only its version moves",
      scoped,
      pass({ setSecrets: sets(ok("34"), ok("31")) }),
      "k1",
      { ...scoped, credentialSets: { "team-a": "34", "team-b": "31" } },
    ],
    [
      "a set's Secret invalid: that set keeps its version",
      scoped,
      pass({ setSecrets: sets(ok("30"), invalid("35")) }),
      "k1",
      { ...scoped, state: "secret-invalid" },
    ],
    [
      "a set removed from the ConfigMap: gone from the report",
      scoped,
      pass({ configResourceVersion: "12", setSecrets: new Map([["team-a", ok("30")]]) }),
      "k1",
      { ...current, configVersion: "12", credentialSets: { "team-a": "30" } },
    ],
    [
      "scopes off: no sets",
      scoped,
      pass({ configResourceVersion: "13" }),
      "k1",
      { ...current, configVersion: "13" },
    ],
  ];
  for (const [name, previous, outcome, applied, expected] of cases) {
    it(name, () => {
      assert.deepEqual(nodeReport(previous, outcome, applied), expected);
    });
  }
});

describe("the Lease write: only what changed, nothing when nothing did", () => {
  const at = new Date("2025-03-04T05:06:07.089Z");
  const reporter = { nodeName: "node-1", podName: "nodecred-x7k2p", podUid: "uid-1" };
  const labels = {
    "app.kubernetes.io/name": "nodecred",
    "nodecred.io/node": "node-1",
    "nodecred.io/config-version": "10",
    "nodecred.io/credentials-version": "20",
    "nodecred.io/kubelet-config": "k1",
    "nodecred.io/state": "current",
  };
  const spec = { holderIdentity: "nodecred-x7k2p", renewTime: "2025-03-04T05:06:07.089000Z" };
  const owner = [{ apiVersion: "v1", kind: "Pod", name: "nodecred-x7k2p", uid: "uid-1" }];

  it("first write of this pod: every key (null removes a previous pod's), the pod as owner", () => {
    assert.deepEqual(leaseWrite(null, current, reporter, at), {
      patch: {
        metadata: {
          labels: { ...labels, "nodecred.io/ready": null },
          annotations: { "nodecred.io/credential-sets": null, "nodecred.io/not-ready": null },
          ownerReferences: owner,
        },
        spec,
      },
      create: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "node-1", labels, ownerReferences: owner },
        spec: { ...spec, acquireTime: spec.renewTime },
      },
    });
  });

  it("no pod uid: no owner", () => {
    const write = leaseWrite(null, current, { ...reporter, podUid: "" }, at);
    assert.equal(JSON.stringify(write).includes("ownerReferences"), false);
  });

  it("the same report again: no request", () => {
    assert.equal(leaseWrite(current, { ...current }, reporter, at), null);
    assert.ok(
      sameReport(scoped, { ...scoped, credentialSets: { "team-b": "31", "team-a": "30" } }),
    );
  });

  it("a rotation: the credentials version and the renew time, nothing else", () => {
    assert.deepEqual(
      leaseWrite(current, { ...current, credentialsVersion: "21" }, reporter, at)?.patch,
      { metadata: { labels: { "nodecred.io/credentials-version": "21" } }, spec },
    );
  });

  it("credential sets: one JSON annotation, sorted; removed when scopes go", () => {
    const write = leaseWrite(
      current,
      { ...current, credentialSets: { "team-b": "31", "team-a": "30" } },
      reporter,
      at,
    );
    assert.deepEqual(write?.patch, {
      metadata: { annotations: { "nodecred.io/credential-sets": '{"team-a":"30","team-b":"31"}' } },
      spec,
    });
    assert.deepEqual(leaseWrite(scoped, current, reporter, at)?.patch, {
      metadata: { annotations: { "nodecred.io/credential-sets": null } },
      spec,
    });
  });

  it("a version no longer known, or one that is no label value: the label removed", () => {
    assert.deepEqual(
      leaseWrite(current, { ...current, state: "incomplete", configVersion: "" }, reporter, at)
        ?.patch,
      {
        metadata: {
          labels: { "nodecred.io/config-version": null, "nodecred.io/state": "incomplete" },
        },
        spec,
      },
    );
    const longName = `${"n".repeat(60)}.example.com`;
    const write = leaseWrite(null, current, { ...reporter, nodeName: longName }, at);
    assert.equal(
      (write?.patch as { metadata: { labels: Record<string, unknown> } }).metadata.labels[
        "nodecred.io/node"
      ],
      null,
      "a node name longer than a label value: no node label (the Lease's name says it)",
    );
    assert.equal((write?.create["metadata"] as { name: string }).name, longName);
  });

  it("readiness: a label and, when not ready, the reason; written only when it changes", () => {
    const notReady = withReadiness(current, {
      ready: false,
      reason: "policy file not synced yet (Secret nodecred-credentials invalid)",
    });
    assert.deepEqual(leaseWrite(current, notReady, reporter, at)?.patch, {
      metadata: {
        labels: { "nodecred.io/ready": "false" },
        annotations: {
          "nodecred.io/not-ready":
            "policy file not synced yet (Secret nodecred-credentials invalid)",
        },
      },
      spec,
    });
    const ready = withReadiness(current, { ready: true });
    assert.deepEqual(leaseWrite(notReady, ready, reporter, at)?.patch, {
      metadata: {
        labels: { "nodecred.io/ready": "true" },
        annotations: { "nodecred.io/not-ready": null },
      },
      spec,
    });
    assert.equal(
      leaseWrite(ready, withReadiness(current, { ready: true }), reporter, at),
      null,
      "the same answer again (every probe): no request",
    );
    assert.equal(withReadiness(current, null), current, "not probed yet: no readiness keys");
    const created = leaseWrite(null, notReady, reporter, at)?.create["metadata"] as {
      labels: Record<string, string>;
      annotations: Record<string, string>;
    };
    assert.equal(created.labels["nodecred.io/ready"], "false");
    assert.match(created.annotations["nodecred.io/not-ready"] ?? "", /Secret nodecred-credentials/);
    const long = withReadiness(current, { ready: false, reason: "x".repeat(5000) });
    const cut = (
      leaseWrite(current, long, reporter, at)?.patch["metadata"] as {
        annotations: Record<string, string>;
      }
    ).annotations["nodecred.io/not-ready"];
    assert.equal(cut?.length, notReadyMaxLength, "a long reason is cut");
  });

  it("renewTime as a MicroTime: six fractional digits", () => {
    assert.equal(microTime(new Date(0)), "1970-01-01T00:00:00.000000Z");
  });
});
