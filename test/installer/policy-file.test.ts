/**
 * The node's policy file from the installer's side (installer/core/plan/policy-file.ts): its bytes,
 * what the sync loop writes when the Secret or the ConfigMap is missing or invalid (nextPolicy),
 * and how `--dry-run` shows it (plan-diff.ts): rules and registry keys, never a username or
 * password, and the "no kubelet restart" line when only the policy changes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describePlan } from "../../installer/core/plan/plan-diff.ts";
import type { FileWrite, Plan } from "../../installer/core/plan/plan.ts";
import type { CredentialSetSpec } from "../../installer/core/settings/credential-sets.ts";
import {
  nextPolicy,
  type NextPolicy,
  type PolicySources,
} from "../../installer/core/plan/policy-file.ts";
import { problem, type Result } from "../../installer/core/problems.ts";
import type { Credential } from "../../provider/core/keyring.ts";
import {
  formatPolicy,
  parsePolicy,
  type CredentialSet,
  type Policy,
} from "../../provider/core/policy.ts";
import { MAX_FILE_BYTES } from "../../provider/core/run.ts";
import {
  credentialsFromDockerConfigJson,
  maxSecretBytes,
} from "../../installer/core/settings/secret.ts";

const decoder = new TextDecoder();
const alice: Credential = { key: "reg.example.test", username: "alice", password: "FAKE-pw-1" };
const alice2: Credential = { ...alice, password: "FAKE-pw-2" };
const bob: Credential = { key: "other.example.test:5000", username: "bob", password: "FAKE-pw-3" };
/** Every username and password above, none of which may ever be shown. */
const secrets = ["alice", "bob", "FAKE-pw"];

/** An unscoped policy file's bytes. */
function policyFileBytes(
  matchImages: readonly string[],
  credentials: readonly Credential[],
): Uint8Array {
  return new TextEncoder().encode(formatPolicy(matchImages, { scoped: false, credentials }));
}

/** The credentials of an unscoped policy. */
function unscoped(p: Policy): readonly Credential[] {
  if (p.grants.scoped) assert.fail("scoped");
  return p.grants.credentials;
}

function policyOf(bytes: Uint8Array): Policy {
  const r = parsePolicy(decoder.decode(bytes));
  if (!r.ok) assert.fail(r.problems.join("; "));
  return r.policy;
}

describe("the unscoped policy file", () => {
  it("canonical: sorted keys, one line, trailing newline, read back by the provider", () => {
    const bytes = policyFileBytes(["reg.example.test", "*.example.test:5000/team"], [alice, bob]);
    assert.equal(
      decoder.decode(bytes),
      '{"apiVersion":"nodecred.io/v1","auths":{"other.example.test:5000":{"password":"FAKE-pw-3","username":"bob"},"reg.example.test":{"password":"FAKE-pw-1","username":"alice"}},"kind":"CredentialPolicy","matchImages":["reg.example.test","*.example.test:5000/team"]}\n',
    );
    const p = policyOf(bytes);
    assert.deepEqual(
      p.rules.map((r) => r.pattern),
      ["reg.example.test", "*.example.test:5000/team"],
    );
    assert.deepEqual(
      [...unscoped(p)].sort((a, b) => a.key.localeCompare(b.key)),
      [bob, alice],
    );
  });
  it("the same content in another credential order: the same bytes (compare-first skips it)", () => {
    assert.deepEqual(policyFileBytes(["r"], [alice, bob]), policyFileBytes(["r"], [bob, alice]));
  });
  it("rule order is kept (the first matching rule is reported by --check --image)", () => {
    assert.notDeepEqual(policyFileBytes(["a", "b"], [alice]), policyFileBytes(["b", "a"], [alice]));
  });
  it("a registry key __proto__ is a key like any other", () => {
    const proto: Credential = { key: "__proto__", username: "u", password: "FAKE-p" };
    assert.deepEqual(unscoped(policyOf(policyFileBytes(["r"], [proto]))), [proto]);
  });
});

describe("nextPolicy", () => {
  const current: Policy = policyOf(policyFileBytes(["current.example.test"], [alice]));
  const good = <T>(value: T): Result<T> => ({ ok: true, value });
  const invalid: Result<never> = { ok: false, problems: [problem("data.x", "bad")] };
  const rules = (matchImages: string[]): PolicySources["settings"] =>
    good({ matchImages, credentialSets: null });
  const table: [
    name: string,
    sources: PolicySources,
    want: { matchImages: string[]; credentials: Credential[] } | { missing: string[] },
  ][] = [
    [
      "both objects good: both used",
      { credentials: good([alice2, bob]), settings: rules(["new.example.test"]), current },
      { matchImages: ["new.example.test"], credentials: [alice2, bob] },
    ],
    [
      "Secret missing: the current credentials kept",
      { credentials: null, settings: rules(["new.example.test"]), current },
      { matchImages: ["new.example.test"], credentials: [alice] },
    ],
    [
      "Secret invalid: the current credentials kept",
      { credentials: invalid, settings: rules(["new.example.test"]), current },
      { matchImages: ["new.example.test"], credentials: [alice] },
    ],
    [
      "ConfigMap invalid: the current rules kept",
      { credentials: good([alice2]), settings: invalid, current },
      { matchImages: ["current.example.test"], credentials: [alice2] },
    ],
    [
      "ConfigMap missing: the current rules kept",
      { credentials: good([alice2]), settings: null, current },
      { matchImages: ["current.example.test"], credentials: [alice2] },
    ],
    [
      "both bad: the current file as it is",
      { credentials: invalid, settings: null, current },
      { matchImages: ["current.example.test"], credentials: [alice] },
    ],
    [
      "no current file, both good: written",
      { credentials: good([bob]), settings: rules(["r.example.test"]), current: null },
      { matchImages: ["r.example.test"], credentials: [bob] },
    ],
    [
      "no current file, Secret missing: incomplete",
      { credentials: null, settings: rules(["r.example.test"]), current: null },
      { missing: ["credentials"] },
    ],
    [
      "no current file, ConfigMap invalid: incomplete",
      { credentials: good([bob]), settings: invalid, current: null },
      { missing: ["matchImages"] },
    ],
    [
      "no current file, nothing: both missing",
      { credentials: invalid, settings: null, current: null },
      { missing: ["credentials", "matchImages"] },
    ],
  ];
  for (const [name, sources, want] of table) {
    it(name, () => {
      const got = nextPolicy(sources);
      if ("missing" in want) {
        assert.deepEqual(got, { kind: "incomplete", missing: want.missing });
        return;
      }
      assert.equal(got.kind, "policy");
      assert.deepEqual(got.bytes, policyFileBytes(want.matchImages, want.credentials));
      assert.deepEqual(got.policy, policyOf(got.bytes));
    });
  }
  it("both bad: byte for byte the current file (nothing to write)", () => {
    const bytes = policyFileBytes(["current.example.test"], [alice]);
    const got = nextPolicy({ credentials: null, settings: invalid, current: policyOf(bytes) });
    assert.equal(got.kind, "policy");
    assert.deepEqual(got.bytes, bytes);
  });
});

describe("nextPolicy with credential sets", () => {
  const good = <T>(value: T): Result<T> => ({ ok: true, value });
  const invalid: Result<never> = { ok: false, problems: [problem("data.x", "bad")] };
  const carol: Credential = { key: "team.example.test", username: "carol", password: "FAKE-pw-4" };
  const carol2: Credential = { ...carol, password: "FAKE-pw-5" };
  const specs: readonly CredentialSetSpec[] = [
    { name: "team-a", secret: "team-a-registry", namespaces: ["team-a"], onlyWhenSelected: false },
    { name: "default", secret: null, namespaces: ["*"], onlyWhenSelected: false },
  ];
  const scopedSettings = (sets: readonly CredentialSetSpec[] = specs): PolicySources["settings"] =>
    good({ matchImages: ["r.example.test"], credentialSets: sets });
  /** The sets of a next policy: name -> credentials. */
  const setsOf = (next: NextPolicy): Record<string, readonly Credential[]> => {
    if (next.kind !== "policy") assert.fail(JSON.stringify(next));
    assert.deepEqual(next.policy, policyOf(next.bytes), "the policy is the bytes read back");
    if (!next.policy.grants.scoped) assert.fail("unscoped");
    return Object.fromEntries(next.policy.grants.sets.map((s) => [s.name, s.credentials]));
  };
  const scopedFile = (teamA: readonly Credential[], secret = "team-a-registry"): Policy => {
    const sets = [
      { ...specs[0], secret, credentials: teamA } as CredentialSet,
      { ...specs[1], credentials: [alice] } as CredentialSet,
    ];
    return policyOf(
      new TextEncoder().encode(formatPolicy(["old.example.test"], { scoped: true, sets })),
    );
  };

  it("sync: every set from its Secret, in the ConfigMap's order", () => {
    const next = nextPolicy({
      credentials: good([alice]),
      settings: scopedSettings(),
      secrets: new Map([["team-a-registry", good([carol])]]),
      current: null,
    });
    assert.deepEqual(setsOf(next), { "team-a": [carol], default: [alice] });
    assert.deepEqual(Object.keys(setsOf(next)), ["team-a", "default"]);
    assert.match(
      decoder.decode((next as { bytes: Uint8Array }).bytes),
      /^\{"apiVersion":"nodecred\.io\/v1","kind":"CredentialPolicy","matchImages":\["r\.example\.test"\],"sets":\[\{"auths":\{"team\.example\.test"/,
    );
  });
  it("sync: a set's Secret invalid keeps that set's credentials from the file", () => {
    const next = nextPolicy({
      credentials: good([alice2]),
      settings: scopedSettings(),
      secrets: new Map([["team-a-registry", invalid]]),
      current: scopedFile([carol]),
    });
    assert.deepEqual(setsOf(next), { "team-a": [carol], default: [alice2] });
  });
  it("sync: a set's Secret invalid and nothing in the file: the set has no credentials", () => {
    const next = nextPolicy({
      credentials: good([alice]),
      settings: scopedSettings(),
      secrets: new Map([["team-a-registry", invalid]]),
      current: null,
    });
    assert.deepEqual(setsOf(next), { "team-a": [], default: [alice] });
  });
  it("sync: a set's Secret absent from the list: refused, nothing written", () => {
    const next = nextPolicy({
      credentials: good([alice]),
      settings: scopedSettings(),
      secrets: new Map([["other", good([carol])]]),
      current: scopedFile([carol]),
    });
    assert.deepEqual(next, {
      kind: "refused",
      problems: [
        problem(
          "data.credentialSets.team-a.secret",
          'Secret "team-a-registry" not found in nodecred\'s namespace',
        ),
      ],
    });
  });
  it("apply (Secrets not known): each set keeps what the file has for the same name and Secret", () => {
    const next = nextPolicy({
      credentials: good([alice2]),
      settings: scopedSettings(),
      current: scopedFile([carol]),
    });
    assert.deepEqual(setsOf(next), { "team-a": [carol], default: [alice2] });
  });
  it("apply: a set now naming another Secret starts empty (the old Secret's credentials are not carried over)", () => {
    const next = nextPolicy({
      credentials: good([alice]),
      settings: scopedSettings(),
      current: scopedFile([carol], "old-secret"),
    });
    assert.deepEqual(setsOf(next), { "team-a": [], default: [alice] });
  });
  it("apply on a node without a file, or with an unscoped one: the other sets start empty", () => {
    for (const current of [null, policyOf(policyFileBytes(["r"], [bob]))]) {
      const next = nextPolicy({ credentials: good([alice]), settings: scopedSettings(), current });
      assert.deepEqual(setsOf(next), { "team-a": [], default: [alice] });
    }
  });
  it("the default Secret missing: the default set keeps its credentials, from a scoped or an unscoped file", () => {
    const fromScoped = nextPolicy({
      credentials: null,
      settings: scopedSettings(),
      secrets: new Map([["team-a-registry", good([carol2])]]),
      current: scopedFile([carol]),
    });
    assert.deepEqual(setsOf(fromScoped), { "team-a": [carol2], default: [alice] });
    const fromUnscoped = nextPolicy({
      credentials: invalid,
      settings: scopedSettings(),
      current: policyOf(policyFileBytes(["r"], [bob])),
    });
    assert.deepEqual(setsOf(fromUnscoped), { "team-a": [], default: [bob] });
  });
  it("the ConfigMap not known: the file's sets and rules stay, with fresh credentials", () => {
    const next = nextPolicy({
      credentials: good([alice2]),
      settings: null,
      secrets: new Map([["team-a-registry", good([carol2])]]),
      current: scopedFile([carol]),
    });
    assert.deepEqual(setsOf(next), { "team-a": [carol2], default: [alice2] });
    assert.deepEqual(
      (next as { policy: Policy }).policy.rules.map((r) => r.pattern),
      ["old.example.test"],
    );
  });
  it("credentialSets removed: back to one unscoped list, the default Secret's", () => {
    const next = nextPolicy({
      credentials: null,
      settings: good({ matchImages: ["r.example.test"], credentialSets: null }),
      current: scopedFile([carol]),
    });
    assert.equal(next.kind, "policy");
    assert.deepEqual(next.bytes, policyFileBytes(["r.example.test"], [alice]));
  });
  it("two sets in conflict: refused with the conflict, nothing written", () => {
    const next = nextPolicy({
      credentials: good([alice]),
      settings: scopedSettings(),
      secrets: new Map([["team-a-registry", good([{ ...carol, key: "reg.example.test" }])]]),
      current: null,
    });
    assert.equal(next.kind, "refused");
    assert.deepEqual(
      next.problems.map((p) => p.path),
      ["data.credentialSets.default"],
    );
    assert.match(
      next.problems[0]?.message ?? "",
      /^conflicts with set "team-a": .*"reg\.example\.test"/,
    );
    for (const s of [...secrets, "carol"]) assert.ok(!JSON.stringify(next).includes(s));
  });
  it("a policy file larger than the provider reads: refused", () => {
    const big = (name: string): Credential[] =>
      Array.from({ length: 40 }, (_, i) => ({
        key: `${name}${String(i)}.example.test`,
        username: "u",
        password: "p".repeat(120_000),
      }));
    const many: CredentialSetSpec[] = Array.from({ length: 3 }, (_, i) => ({
      name: `s${String(i)}`,
      secret: `s${String(i)}`,
      namespaces: [`n${String(i)}`],
      onlyWhenSelected: false,
    }));
    const next = nextPolicy({
      credentials: good([alice]),
      settings: scopedSettings(many),
      secrets: new Map(many.map((s) => [s.secret ?? "", good(big(s.name))])),
      current: null,
    });
    assert.equal(next.kind, "refused");
    assert.equal(next.problems[0]?.path, "data.credentialSets");
    assert.match(
      next.problems[0].message,
      new RegExp(`the provider reads at most ${String(MAX_FILE_BYTES)}`),
    );
  });
});

function policyWrite(before: Uint8Array | null, after: Uint8Array, mode = 0o600): FileWrite {
  return {
    path: "/etc/nodecred/credentials/policy.json",
    role: "credentials",
    action: before === null ? "create" : "update",
    before: before === null ? null : { bytes: before, mode },
    mode: 0o600,
    bytes: after,
  };
}

function plan(writes: FileWrite[], restart: Plan["restart"] = null): Plan {
  return { mkdirs: [], writes, removals: [], removalsAfterRestart: true, rmdirs: [], restart };
}

function shown(p: Plan): string {
  const text = describePlan(p);
  for (const s of secrets) assert.ok(!text.includes(s), `${s} shown:\n${text}`);
  return text;
}

describe("--dry-run of the policy file: rules and keys, never a secret", () => {
  const noRestartLine =
    "no kubelet restart: the kubelet's config is unchanged, the provider reads the new policy file on the next pull";

  it("created: every rule and key", () => {
    const text = shown(
      plan([policyWrite(null, policyFileBytes(["a.example.test"], [alice, bob]))]),
    );
    assert.match(text, /^create \/etc\/nodecred\/credentials\/policy\.json mode 0600$/m);
    assert.match(text, /policy file, rules and registry keys \(credentials not shown\):/);
    assert.match(text, /^ {2}\+matchImages a\.example\.test$/m);
    assert.match(text, /^ {2}\+credentials for "reg\.example\.test"$/m);
    assert.match(text, /^ {2}\+credentials for "other\.example\.test:5000"$/m);
  });

  it("a password rotated: named by key, no rule or key lines changed, no restart", () => {
    const text = shown(
      plan([
        policyWrite(
          policyFileBytes(["a.example.test"], [alice, bob]),
          policyFileBytes(["a.example.test"], [alice2, bob]),
        ),
      ]),
    );
    assert.match(text, /^ {2}credentials for "reg\.example\.test" changed$/m);
    assert.doesNotMatch(text, /other\.example\.test:5000" changed/);
    assert.doesNotMatch(text, /^ {2}[-+](matchImages|credentials)/m);
    assert.ok(text.endsWith(`${noRestartLine}\n`), text);
  });

  it("a username changed: also named by key", () => {
    const renamed = { ...alice, username: "alice-robot" };
    const text = describePlan(
      plan([policyWrite(policyFileBytes(["r"], [alice]), policyFileBytes(["r"], [renamed]))]),
    );
    assert.match(text, /credentials for "reg\.example\.test" changed/);
    assert.ok(!text.includes("alice") && !text.includes("FAKE-pw"), text);
  });

  it("a matchImages edit and a key added: a diff of rules and keys", () => {
    const text = shown(
      plan([
        policyWrite(
          policyFileBytes(["a.example.test", "b.example.test"], [alice]),
          policyFileBytes(["a.example.test", "c.example.test:5000"], [alice, bob]),
        ),
      ]),
    );
    assert.match(text, /^ {2}-matchImages b\.example\.test$/m);
    assert.match(text, /^ {2}\+matchImages c\.example\.test:5000$/m);
    assert.match(text, /^ {2} matchImages a\.example\.test$/m);
    assert.match(text, /^ {2}\+credentials for "other\.example\.test:5000"$/m);
    assert.doesNotMatch(text, / changed$/m);
    assert.match(text, new RegExp(`${noRestartLine}\\n$`));
  });

  it("with a restart planned: the restart line, not the no-restart line", () => {
    const text = shown(
      plan([policyWrite(policyFileBytes(["a"], [alice]), policyFileBytes(["b"], [alice]))], {
        unit: "kubelet",
        reasons: ["provider-config /etc/nodecred/credential-provider-config.yaml updated"],
      }),
    );
    assert.match(text, /^restart kubelet: provider-config /m);
    assert.ok(!text.includes(noRestartLine));
  });

  it("the file in place is not a policy (a 0.1 credentials file, say): not shown at all", () => {
    const dockerConfig = new TextEncoder().encode(
      '{"auths":{"reg.example.test":{"password":"FAKE-pw-1","username":"alice"}}}\n',
    );
    const text = shown(plan([policyWrite(dockerConfig, policyFileBytes(["a"], [alice]))]));
    assert.match(text, /^ {2}-\(not a valid policy file\)$/m);
  });

  it("a mode change only: no content at all", () => {
    const bytes = policyFileBytes(["a"], [alice]);
    const text = shown(plan([{ ...policyWrite(bytes, bytes, 0o644), action: "chmod" }]));
    assert.equal(text, "chmod /etc/nodecred/credentials/policy.json mode 0600 (was 0644)\n");
  });

  it("scoped: each set's line, then its keys; a rotated password named with its set", () => {
    const scoped = (teamPassword: string): Uint8Array =>
      new TextEncoder().encode(
        formatPolicy(["a.example.test"], {
          scoped: true,
          sets: [
            {
              name: "team-a",
              secret: "team-a-registry",
              namespaces: ["team-a", "team-a-*"],
              onlyWhenSelected: true,
              credentials: [{ ...alice, password: teamPassword }],
            },
            {
              name: "default",
              secret: null,
              namespaces: ["*"],
              onlyWhenSelected: false,
              credentials: [alice, bob],
            },
          ],
        }),
      );
    const created = shown(plan([policyWrite(null, scoped("FAKE-pw-1"))]));
    assert.match(
      created,
      /^ {2}\+set "team-a" from Secret "team-a-registry", namespaces \["team-a","team-a-\*"\], only when selected\n {2}\+credentials for "reg\.example\.test"\n {2}\+set "default" from the default Secret, namespaces \["\*"\]\n {2}\+credentials for "other\.example\.test:5000"\n {2}\+credentials for "reg\.example\.test"$/m,
    );
    const rotated = shown(plan([policyWrite(scoped("FAKE-pw-1"), scoped("FAKE-pw-9"))]));
    assert.match(rotated, /^ {2}credentials for "reg\.example\.test" in set "team-a" changed$/m);
    assert.doesNotMatch(rotated, /in set "default" changed/);
    // From unscoped to scoped: the credentials line moves under the default set.
    const moved = shown(
      plan([policyWrite(policyFileBytes(["a.example.test"], [alice, bob]), scoped("FAKE-pw-1"))]),
    );
    assert.match(moved, /^ {2}\+set "default" from the default Secret/m);
  });

  it("bad beside good: the check above would see a password", () => {
    assert.throws(() => shown({ ...plan([]), restart: { unit: "FAKE-pw-1", reasons: [] } }));
  });
});

describe("the largest inputs the installer accepts give a policy file the provider reads", () => {
  it("a 1 MiB Secret whose password is all control characters (JSON escapes each as 6 bytes) and 1,000 long rules stay under the provider's MAX_FILE_BYTES", () => {
    // base64 of ":" + N bytes of \x01: every 4 base64 characters become 3 password bytes, each
    // written to the policy file as \u0001 (the worst expansion there is, 4.5x).
    const wrap = (auth: string): string => `{"auths":{"r.example.test":{"auth":"${auth}"}}}`;
    const room = maxSecretBytes - wrap("").length;
    const raw = Math.floor((room / 4) * 3) - 3;
    const auth = Buffer.from(`:${"\u0001".repeat(raw - 1)}`, "latin1").toString("base64");
    const secretBytes = new TextEncoder().encode(wrap(auth));
    assert.ok(secretBytes.length <= maxSecretBytes && secretBytes.length > maxSecretBytes - 8);
    const credentials = credentialsFromDockerConfigJson(secretBytes);
    assert.ok(credentials.ok, "the worst-case Secret must be one the installer accepts");
    const rules = Array.from(
      { length: 1000 },
      (_, i) => `r${String(i).padStart(4, "0")}.example.test/${"p".repeat(1000)}`,
    );
    const bytes = policyFileBytes(rules, credentials.value);
    assert.ok(bytes.length > 4 * maxSecretBytes, `not the worst case: ${String(bytes.length)}`);
    assert.ok(
      bytes.length <= MAX_FILE_BYTES,
      `${String(bytes.length)} bytes: the provider would refuse the file`,
    );
    assert.equal(unscoped(policyOf(bytes)).length, 1);
  });
});
