// What a node says about each pass of its sync loops (installer/core/report/sync-effects.ts): for
// every kind of outcome, which lines it logs, which counters it bumps, which Events it records
// and once per what. sync/run.ts only carries these out; test/sync/*.test.ts shows them reaching a
// real API server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RolloutConfig } from "../../installer/core/rollout/configmap-check.ts";
import { checkConfigMapForRollout } from "../../installer/core/rollout/configmap-check.ts";
import type {
  ConfigOutcome,
  PolicyOutcome,
  SecretState,
} from "../../installer/core/report/outcomes.ts";
import {
  configEffects,
  policyEffects,
  summary,
  type Effect,
  type SyncObjects,
} from "../../installer/core/report/sync-effects.ts";
import { problem } from "../../installer/core/problems.ts";

const objects: SyncObjects = {
  namespace: "nodecred",
  secret: "nodecred-credentials",
  configMap: "nodecred-config",
  daemonSet: "nodecred",
  pod: "nodecred-abcde",
  node: "node-1",
};
const ok = (rv: string): SecretState => ({ kind: "ok", resourceVersion: rv });
const pass = (over: Partial<PolicyOutcome> = {}): PolicyOutcome => ({
  secret: ok("5"),
  setSecrets: new Map(),
  configHash: "h1",
  configResourceVersion: "7",
  configUid: "cm-uid",
  file: { kind: "unchanged" },
  ...over,
});
const bad = [problem("data[.dockerconfigjson]", "not valid base64")];

/** An effect list in a line each: what a reader of the logs, metrics and Events would see. */
function lines(effects: readonly Effect[]): string[] {
  return effects.map((e) => {
    switch (e.kind) {
      case "log":
        return `log ${e.level} ${e.message}`;
      case "count":
        return `count ${e.counter}`;
      case "count-once":
        return `count ${e.counter} once ${e.once}`;
      case "succeeded":
        return "succeeded";
      case "events":
        return `events ${e.events
          .map(
            (ev) =>
              `${ev.type}/${ev.reason} on ${ev.regarding.kind} ${ev.regarding.name}${ev.name === undefined ? "" : ` as ${ev.name}`}`,
          )
          .join(
            ", ",
          )} once ${e.once}${e.countFirst === undefined ? "" : ` counting ${e.countFirst}`}`;
    }
  });
}

describe("policyEffects", () => {
  const cases: [string, PolicyOutcome, string | null, string[]][] = [
    ["an unchanged file says nothing", pass(), "h1", []],
    [
      "a rotation: counted once, logged per Secret, no Event",
      pass({
        file: {
          kind: "written",
          credentialsChanged: ["nodecred-credentials"],
          rulesChanged: false,
        },
      }),
      "h1",
      ["count rotations", "log info credentials written"],
    ],
    [
      "credentials kept from the file (not from a Secret as it is now) are no news",
      pass({
        secret: { kind: "missing" },
        file: {
          kind: "written",
          credentialsChanged: ["nodecred-credentials"],
          rulesChanged: false,
        },
      }),
      "h1",
      [
        "log warn Secret not found; keeping the current credentials",
        "events Warning/SecretMissing on Pod nodecred-abcde, Warning/SecretMissing on Node node-1 once secret-missing",
      ],
    ],
    [
      "a live matchImages edit inside this node's kubelet config: one Event for the cluster",
      pass({ file: { kind: "written", credentialsChanged: [], rulesChanged: true } }),
      "h1",
      [
        "count liveConfigUpdates",
        "log info matchImages written to the policy file",
        "events Normal/ConfigAppliedLive on ConfigMap nodecred-config as nodecred-configappliedlive.7 once ConfigAppliedLive-7",
      ],
    ],
    [
      "new rules while the kubelet config changes too: logged, no live Event",
      pass({
        configHash: "h2",
        file: { kind: "written", credentialsChanged: [], rulesChanged: true },
      }),
      "h1",
      ["count liveConfigUpdates", "log info matchImages written to the policy file"],
    ],
    [
      "a rejected Secret version: logged, one Warning on the Secret, counted when first sent",
      pass({ secret: { kind: "invalid", resourceVersion: "6", uid: "s-uid", problems: bad } }),
      "h1",
      [
        "log warn Secret rejected; last good credentials kept",
        "events Warning/SecretRejected on Secret nodecred-credentials as nodecred-secretrejected.6 once SecretRejected-6 counting rejectedSecrets",
      ],
    ],
    [
      "a credential set's Secret rejected",
      pass({
        setSecrets: new Map([
          ["team-a", { kind: "invalid", resourceVersion: "9", uid: "t", problems: bad }],
        ]),
      }),
      "h1",
      [
        "log warn Secret rejected; its credential sets keep their last good credentials",
        "events Warning/SecretRejected on Secret team-a as nodecred-secretrejected.9 once SecretRejected-9 counting rejectedSecrets",
      ],
    ],
    [
      "no file to write",
      pass({ file: { kind: "incomplete", missing: ["credentials"] } }),
      null,
      ["log warn policy file not written: a part is neither in the cluster nor on the node"],
    ],
  ];
  for (const [name, outcome, applied, want] of cases) {
    it(name, () => {
      assert.deepEqual(lines(policyEffects(objects, outcome, applied)), want);
    });
  }

  it("a refused ConfigMap: one Warning per version and set of problems", () => {
    const refused = (problems: ReturnType<typeof problem>[]): string[] =>
      lines(policyEffects(objects, pass({ file: { kind: "refused", problems } }), "h1"));
    const a = refused([problem("data.credentialSets", "Secret team-a not found")]);
    const b = refused([problem("data.credentialSets", "sets a and b conflict")]);
    assert.equal(a.length, 2);
    assert.match(
      a[1] ?? "",
      /^events Warning\/ConfigRejected on ConfigMap nodecred-config as nodecred-configrejected\.7\.[0-9a-f]{12} once ConfigRejected-7\.[0-9a-f]{12} counting rejectedConfigs$/,
    );
    assert.notEqual(a[1], b[1], "another set of problems is another Event");
    assert.deepEqual(refused([problem("data.credentialSets", "Secret team-a not found")]), a);
  });

  it("a refused file whose ConfigMap this node cannot read: the node reports it on itself", () => {
    const got = lines(
      policyEffects(
        objects,
        pass({ configResourceVersion: "", file: { kind: "refused", problems: bad } }),
        "h1",
      ),
    );
    assert.equal(got.length, 3);
    assert.match(got[1] ?? "", /^count rejectedConfigs once config-refused-[0-9a-f]{12}$/);
    assert.match(
      got[2] ?? "",
      /^events Warning\/ConfigRejected on Pod nodecred-abcde, Warning\/ConfigRejected on Node node-1 once config-refused-event-/,
    );
  });

  it("messages name objects and versions, and at most five problems", () => {
    const many = Array.from({ length: 7 }, (_, i) => problem(`p${String(i)}`, "bad"));
    const [, event] = policyEffects(
      objects,
      pass({ secret: { kind: "invalid", resourceVersion: "6", uid: "s", problems: many } }),
      "h1",
    );
    assert.equal(event?.kind, "events");
    assert.equal(
      event.events[0]?.message,
      `Secret nodecred-credentials (resourceVersion 6) rejected, last good credentials kept: ${summary(many)}`,
    );
    assert.match(summary(many), /p4: bad; and 2 more$/);
  });
});

describe("configEffects", () => {
  const config = (data: Record<string, string>): RolloutConfig => {
    const r = checkConfigMapForRollout(data);
    assert.ok(r.ok, JSON.stringify(r));
    return r.value;
  };
  const plain = config({ matchImages: "registry.example.com" });
  const cases: [string, ConfigOutcome, string[]][] = [
    [
      "current: a success, nothing to say",
      { kind: "current", config: plain, resourceVersion: "7", uid: "u" },
      ["succeeded"],
    ],
    [
      "rolled out: logged, one Event for the cluster",
      {
        kind: "rolled-out",
        config: plain,
        reasons: ["matchImages use port 5000"],
        resourceVersion: "8",
        uid: "u",
      },
      [
        "succeeded",
        "log info kubelet config change rolled out",
        "events Normal/ConfigRolloutStarted on ConfigMap nodecred-config as nodecred-configrolloutstarted.8 once ConfigRolloutStarted-8",
      ],
    ],
    [
      "the ConfigMap deleted",
      { kind: "missing" },
      ["log warn ConfigMap not found; nothing to roll out"],
    ],
    [
      "an invalid version",
      { kind: "invalid", resourceVersion: "9", uid: "u", problems: bad },
      [
        "log warn ConfigMap rejected; nodes keep their config",
        "events Warning/ConfigRejected on ConfigMap nodecred-config as nodecred-configrejected.9 once ConfigRejected-9 counting rejectedConfigs",
      ],
    ],
    [
      "entries that can never match an image: a warning once per version",
      {
        kind: "current",
        config: config({
          matchImages: "registry.example.com\nhttps://registry.example.com",
        }),
        resourceVersion: "10",
        uid: "u",
      },
      [
        "succeeded",
        "log warn matchImages entries that can never match an image",
        "events Warning/ConfigWarning on ConfigMap nodecred-config as nodecred-configwarning.10 once ConfigWarning-10",
      ],
    ],
  ];
  for (const [name, outcome, want] of cases) {
    it(name, () => {
      assert.deepEqual(lines(configEffects(objects, outcome)), want);
    });
  }
  it("the warning names each entry that can never match, and not the good one", () => {
    const effects = configEffects(objects, {
      kind: "current",
      config: config({ matchImages: "registry.example.com\nhttps://registry.example.com" }),
      resourceVersion: "10",
      uid: "u",
    });
    const log = effects.find((e) => e.kind === "log");
    assert.deepEqual(log?.kind === "log" ? log.fields["problems"] : null, [
      'data.matchImages[1]: "https://registry.example.com": a scheme is not stripped from matchImages: this pattern never matches an image',
    ]);
  });
});
