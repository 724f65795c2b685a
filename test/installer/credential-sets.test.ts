/**
 * The ConfigMap's credentialSets (installer/core/settings/credential-sets.ts): what is accepted and in
 * which order, every rule refused with its path, the bounds, and the conflict check between
 * sets (a namespace both admit and an image both hold a key for), with messages that name both
 * sets and the fix and never a credential.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSettings } from "../../installer/core/settings/configmap.ts";
import {
  credentialSetLimits,
  parseCredentialSets,
  setConflicts,
  type CredentialSetSpec,
} from "../../installer/core/settings/credential-sets.ts";
import { nextPolicy } from "../../installer/core/plan/policy-file.ts";
import type { Problem, Result } from "../../installer/core/problems.ts";
import type { Credential } from "../../provider/core/keyring.ts";
import type { CredentialSet } from "../../provider/core/policy.ts";

const problemsOf = (r: Result<unknown>): readonly Problem[] => (r.ok ? [] : r.problems);

/** Exactly these problems, in order: each path, and a message matching its pattern. */
function assertProblems(
  got: readonly Problem[],
  want: readonly (readonly [string, RegExp])[],
): void {
  assert.deepEqual(
    got.map((p) => p.path),
    want.map(([p]) => p),
    JSON.stringify(got),
  );
  want.forEach(([, message], i) => {
    assert.match(got[i]?.message ?? "", message);
  });
}

function sets(text: string): readonly CredentialSetSpec[] {
  const r = parseCredentialSets(text);
  if (!r.ok) assert.fail(JSON.stringify(r.problems));
  return r.value;
}

const implicitDefault: CredentialSetSpec = {
  name: "default",
  secret: null,
  namespaces: ["*"],
  onlyWhenSelected: false,
};

describe("credentialSets: accepted", () => {
  it("the design's example, in document order", () => {
    assert.deepEqual(
      sets(`default:
  namespaces: ["*"]
team-a:
  secret: team-a-registry
  namespaces: [team-a, "team-a-*"]
team-a-ci:
  secret: team-a-ci-registry
  namespaces: [team-a]
  onlyWhenSelected: true
`),
      [
        implicitDefault,
        {
          name: "team-a",
          secret: "team-a-registry",
          namespaces: ["team-a", "team-a-*"],
          onlyWhenSelected: false,
        },
        {
          name: "team-a-ci",
          secret: "team-a-ci-registry",
          namespaces: ["team-a"],
          onlyWhenSelected: true,
        },
      ],
    );
  });
  it("default not listed: it exists, open to every namespace, last", () => {
    assert.deepEqual(
      sets("team-a:\n  secret: a\n  namespaces: [team-a]\n").map((s) => s.name),
      ["team-a", "default"],
    );
    assert.deepEqual(sets("{}"), [implicitDefault]);
    assert.deepEqual(sets("team-a:\n  secret: a\n  namespaces: [team-a]\n")[1], implicitDefault);
  });
  it("default listed without fields, or with namespaces: [] (no namespace)", () => {
    assert.deepEqual(sets("default:\n"), [implicitDefault]);
    assert.deepEqual(sets("default: {}"), [implicitDefault]);
    assert.deepEqual(sets("default:\n  namespaces: []\n")[0]?.namespaces, []);
    assert.equal(sets("default:\n  onlyWhenSelected: true\n")[0]?.onlyWhenSelected, true);
  });
  it("names that look like numbers keep their place when quoted (document order, not key order)", () => {
    assert.deepEqual(
      sets(
        `zz:\n  secret: z\n  namespaces: [z]\n"10":\n  secret: t\n  namespaces: [t]\n"2":\n  secret: w\n  namespaces: [w]\n`,
      ).map((s) => s.name),
      ["zz", "10", "2", "default"],
    );
  });
  it("JSON is YAML too", () => {
    assert.deepEqual(
      sets('{"team-a": {"secret": "a", "namespaces": ["team-a"]}}').map((s) => s.name),
      ["team-a", "default"],
    );
  });
  it("the ConfigMap key: null without it, the sets with it", () => {
    const without = parseSettings({ matchImages: "r.example.test" });
    assert.ok(without.ok);
    assert.equal(without.value.credentialSets, null);
    const withSets = parseSettings({ matchImages: "r.example.test", credentialSets: "{}" });
    assert.ok(withSets.ok);
    assert.deepEqual(withSets.value.credentialSets, [implicitDefault]);
  });
  it("a misspelt key is refused, naming credentialSets among the known ones", () => {
    const r = parseSettings({ matchImages: "r.example.test", credentialSet: "{}" });
    assert.deepEqual(
      problemsOf(r).map((p) => [p.path, p.message]),
      [
        [
          "data.credentialSet",
          "unknown key; known keys: credentialProviderConfigTemplate, credentialSets, defaultCacheDuration, matchImages, matching, providerName",
        ],
      ],
    );
  });
});

describe("credentialSets: refused, every problem with its path", () => {
  const cases: [name: string, text: string, problems: [path: string, message: RegExp][]][] = [
    ["empty", "", [["data.credentialSets", /^is empty: list the sets/]]],
    ["comments only", "# none yet\n", [["data.credentialSets", /^is empty/]]],
    ["not YAML", "a: [", [["data.credentialSets", /^YAML: /]]],
    ["a list", "- a\n", [["data.credentialSets", /must be a YAML mapping .* not a list/]]],
    ["a string", "team-a", [["data.credentialSets", /not a string/]]],
    [
      "a duplicate set name",
      "a:\n  secret: a\n  namespaces: [a]\na:\n  secret: b\n  namespaces: [b]\n",
      [["data.credentialSets", /Map keys must be unique/]],
    ],
    [
      "a name that is a number",
      "123:\n  secret: a\n  namespaces: [a]\n",
      [["data.credentialSets", /^set name must be a string, not a number \(123\): quote it$/]],
    ],
    [
      "a name that is not a DNS-1123 label",
      "Team_A:\n  secret: a\n  namespaces: [a]\n",
      [["data.credentialSets.Team_A", /^set name "Team_A": must be a DNS-1123 label/]],
    ],
    [
      "a name of 64 characters",
      `${"a".repeat(64)}:\n  secret: a\n  namespaces: [a]\n`,
      [[`data.credentialSets.${"a".repeat(64)}`, /must be a DNS-1123 label/]],
    ],
    [
      "a set that is not a mapping",
      "team-a: [a]\n",
      [
        [
          "data.credentialSets.team-a",
          /must be a mapping of secret, namespaces, onlyWhenSelected, not a list/,
        ],
      ],
    ],
    [
      "another set with nothing",
      "team-a:\n",
      [["data.credentialSets.team-a", /not null \(secret and namespaces are required\)/]],
    ],
    [
      "an unknown field",
      "team-a:\n  secret: a\n  namespaces: [a]\n  namespace: [b]\n",
      [
        [
          "data.credentialSets.team-a.namespace",
          /^unknown field; known fields: secret, namespaces, onlyWhenSelected$/,
        ],
      ],
    ],
    [
      "secret missing, namespaces missing",
      "team-a:\n  onlyWhenSelected: true\n",
      [
        ["data.credentialSets.team-a.secret", /^Required value/],
        ["data.credentialSets.team-a.namespaces", /^Required value/],
      ],
    ],
    [
      "secret not a Secret name",
      "team-a:\n  secret: Team_A\n  namespaces: [a]\n",
      [
        [
          "data.credentialSets.team-a.secret",
          /"Team_A" is not a Secret name \(a DNS-1123 subdomain/,
        ],
      ],
    ],
    [
      "secret of 254 characters",
      `team-a:\n  secret: ${"a".repeat(254)}\n  namespaces: [a]\n`,
      [["data.credentialSets.team-a.secret", /is not a Secret name/]],
    ],
    [
      "secret a number",
      "team-a:\n  secret: 12\n  namespaces: [a]\n",
      [["data.credentialSets.team-a.secret", /^must be a string, not a number \(12\): quote it$/]],
    ],
    [
      "secret on the default set",
      "default:\n  secret: other\n",
      [
        [
          "data.credentialSets.default.secret",
          /^not allowed: the default set is always the Secret the DaemonSet mounts/,
        ],
      ],
    ],
    [
      "namespaces empty for another set",
      "team-a:\n  secret: a\n  namespaces: []\n",
      [["data.credentialSets.team-a.namespaces", /^must not be empty/]],
    ],
    [
      "namespaces not a list",
      "team-a:\n  secret: a\n  namespaces: team-a\n",
      [
        [
          "data.credentialSets.team-a.namespaces",
          /^must be a list of namespace patterns, not a string$/,
        ],
      ],
    ],
    [
      "namespace patterns that match no namespace, a duplicate, a number",
      'team-a:\n  secret: a\n  namespaces: [team-a, Team-B, "-x", "[", team-a, 12, "a_b*"]\n',
      [
        [
          "data.credentialSets.team-a.namespaces[1]",
          /^"Team-B" can match no namespace: "T" never appears .*lowercase/,
        ],
        [
          "data.credentialSets.team-a.namespaces[2]",
          /^"-x" can match no namespace: it always starts with "-"/,
        ],
        [
          "data.credentialSets.team-a.namespaces[3]",
          /^"\[" can match no namespace: it is not a well-formed glob/,
        ],
        [
          "data.credentialSets.team-a.namespaces[4]",
          /^"team-a" is listed twice \(also at \[0\]\)$/,
        ],
        [
          "data.credentialSets.team-a.namespaces[5]",
          /^must be a string, not a number \(12\): quote it$/,
        ],
        [
          "data.credentialSets.team-a.namespaces[6]",
          /^"a_b\*" can match no namespace: "_" never appears/,
        ],
      ],
    ],
    [
      "onlyWhenSelected not a boolean",
      "team-a:\n  secret: a\n  namespaces: [a]\n  onlyWhenSelected: sometimes\n",
      [["data.credentialSets.team-a.onlyWhenSelected", /^must be true or false, not a string$/]],
    ],
    [
      "problems in two sets at once",
      "a:\n  secret: A\n  namespaces: [a]\nb:\n  secret: b\n  namespaces: [B]\n",
      [
        ["data.credentialSets.a.secret", /is not a Secret name/],
        ["data.credentialSets.b.namespaces[0]", /can match no namespace/],
      ],
    ],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => {
      assertProblems(problemsOf(parseCredentialSets(text)), want);
    });
  }
  it("through the ConfigMap: the same problems, beside the other keys'", () => {
    const r = parseSettings({
      matchImages: "r.example.test",
      defaultCacheDuration: "-1s",
      credentialSets: "team-a:\n  secret: a\n",
    });
    assert.deepEqual(
      problemsOf(r).map((p) => p.path),
      ["data.defaultCacheDuration", "data.credentialSets.team-a.namespaces"],
    );
    assert.deepEqual(
      problemsOf(parseSettings({ matchImages: "r.example.test", credentialSets: "- x" })).map(
        (p) => p.path,
      ),
      ["data.credentialSets"],
    );
  });
});

describe("credentialSets: bounds", () => {
  const many = (n: number): string =>
    Array.from(
      { length: n },
      (_, i) => `s${String(i)}:\n  secret: s\n  namespaces: [s${String(i)}]\n`,
    ).join("");
  it(`${String(credentialSetLimits.sets)} sets accepted, one more refused in one problem`, () => {
    assert.equal(sets(many(credentialSetLimits.sets - 1)).length, credentialSetLimits.sets);
    assert.equal(sets(`${many(credentialSetLimits.sets - 1)}default: {}\n`).length, 256);
    const over = problemsOf(parseCredentialSets(many(credentialSetLimits.sets + 1)));
    assert.deepEqual(
      over.map((p) => [p.path, p.message]),
      [["data.credentialSets", "257 sets; at most 256"]],
    );
  });
  it(`${String(credentialSetLimits.namespaces)} namespace patterns accepted, one more refused`, () => {
    const patterns = (n: number): string =>
      `a:\n  secret: s\n  namespaces: [${Array.from({ length: n }, (_, i) => `n${String(i)}`).join(", ")}]\n`;
    assert.equal(sets(patterns(256))[0]?.namespaces.length, 256);
    assert.deepEqual(
      problemsOf(parseCredentialSets(patterns(257))).map((p) => [p.path, p.message]),
      [["data.credentialSets.a.namespaces", "257 patterns; at most 256"]],
    );
  });
  it("a namespace pattern of 256 characters accepted, 257 refused with a preview", () => {
    const pattern = (n: number): string =>
      `a:\n  secret: s\n  namespaces: ["${"[a-z]".repeat(n / 5)}${"*".repeat(n % 5)}"]\n`;
    assert.equal(sets(pattern(256))[0]?.namespaces[0]?.length, 256);
    const refused = problemsOf(parseCredentialSets(pattern(257)));
    assert.equal(refused[0]?.path, "data.credentialSets.a.namespaces[0]");
    assert.match(refused[0].message, /… \(257 characters\) is longer than 256 characters/);
  });
  it("a huge set name is quoted by a prefix, in the path too", () => {
    const name = "X".repeat(10_000);
    const got = problemsOf(parseCredentialSets(`${name}: {}\n`));
    for (const p of got) assert.ok(p.path.length + p.message.length < 1000, p.message);
  });
});

const cred = (key: string, password = "FAKE-set-password"): Credential => ({
  key,
  username: "FAKE-set-user",
  password,
});

function set(
  name: string,
  namespaces: readonly string[],
  keys: readonly string[],
  onlyWhenSelected = false,
): CredentialSet {
  return {
    name,
    secret: name === "default" ? null : `${name}-registry`,
    namespaces,
    onlyWhenSelected,
    credentials: keys.map((k) => cred(k)),
  };
}

describe("setConflicts: two sets that would both answer one pull", () => {
  const cases: [
    name: string,
    sets: CredentialSet[],
    conflicts: [path: string, message: RegExp][],
  ][] = [
    [
      "disjoint namespaces, same registry: fine",
      [
        set("team-a", ["team-a", "team-a-*"], ["reg.example.test"]),
        set("team-b", ["team-b"], ["reg.example.test"]),
      ],
      [],
    ],
    [
      "same namespace, different registries: fine",
      [
        set("team-a", ["team-a"], ["a.example.test"]),
        set("team-b", ["team-a"], ["b.example.test"]),
      ],
      [],
    ],
    [
      "the default set (every namespace) and a team set with the same registry",
      [
        set("team-a", ["team-a"], ["reg.example.test"]),
        set("default", ["*"], ["reg.example.test", "other.example.test"]),
      ],
      [
        [
          "data.credentialSets.default",
          /^conflicts with set "team-a": namespace patterns "\*" and "team-a" \(of "team-a"\) match some namespace alike, and both hold credentials for registry key "reg\.example\.test", so a pull there could take either set's credentials; narrow the namespaces of one of them, or mark one onlyWhenSelected: true/,
        ],
      ],
    ],
    [
      "one of them onlyWhenSelected: fine",
      [
        set("team-a-ci", ["team-a"], ["reg.example.test"], true),
        set("default", ["*"], ["reg.example.test"]),
      ],
      [],
    ],
    [
      "both onlyWhenSelected: fine (the annotation names one)",
      [
        set("ci-1", ["team-a"], ["reg.example.test"], true),
        set("ci-2", ["team-a"], ["reg.example.test"], true),
      ],
      [],
    ],
    [
      "a glob namespace and a glob registry key",
      [
        set("team-a", ["team-a-*"], ["*.example.test"]),
        set("dev", ["*-dev"], ["reg.example.test/team"]),
      ],
      [
        [
          "data.credentialSets.dev",
          /namespace patterns "\*-dev" and "team-a-\*" \(of "team-a"\) match some namespace alike, and registry keys "reg\.example\.test\/team" and "\*\.example\.test" \(of "team-a"\) match some image alike/,
        ],
      ],
    ],
    [
      "same namespace pattern in both",
      [
        set("a", ["team-a"], ["r.example.test"]),
        set("b", ["team-a"], ["r.example.test:443", "r.example.test"]),
      ],
      [["data.credentialSets.b", /both admit namespace pattern "team-a"/]],
    ],
    [
      "the Docker Hub fallback meets docker.io",
      [
        set("hub", ["team-a"], ["https://index.docker.io/v1/"]),
        set("mirror", ["team-*"], ["docker.io"]),
      ],
      [
        [
          "data.credentialSets.mirror",
          /"https:\/\/index\.docker\.io\/v1\/" \(its Docker Hub fallback, which also answers docker\.io and hosts without a dot or port\)/,
        ],
      ],
    ],
    [
      "a set with no namespace never conflicts",
      [set("team-a", ["team-a"], ["reg.example.test"]), set("default", [], ["reg.example.test"])],
      [],
    ],
    [
      "a set without credentials (its Secret not there yet) never conflicts",
      [set("team-a", ["team-a"], []), set("default", ["*"], ["reg.example.test"])],
      [],
    ],
    [
      "three sets, two pairs in conflict: one problem per pair, at the later set",
      [
        set("a", ["team-a"], ["r.example.test"]),
        set("b", ["team-b"], ["r.example.test"]),
        set("default", ["*"], ["r.example.test"]),
      ],
      [
        ["data.credentialSets.default", /^conflicts with set "a"/],
        ["data.credentialSets.default", /^conflicts with set "b"/],
      ],
    ],
  ];
  for (const [name, given, want] of cases) {
    it(name, () => {
      const got = setConflicts(given);
      assertProblems(got, want);
      for (const p of got) {
        assert.ok(!JSON.stringify(p).includes("FAKE-set"), "a credential in a problem");
      }
    });
  }

  it("a key with user:password@ in it is shown redacted", () => {
    const got = setConflicts([
      set("a", ["team-a"], ["https://robot:FAKE-in-key@reg.example.test"]),
      set("b", ["team-a"], ["reg.example.test"]),
    ]);
    assert.equal(got.length, 1);
    assert.match(got[0]?.message ?? "", /"https:\/\/REDACTED@reg\.example\.test"/);
    assert.ok(!got[0]?.message.includes("FAKE-in-key"));
  });

  it("a 7,000-key default Secret beside ten team sets: quick", () => {
    const big = Array.from({ length: 7000 }, (_, i) => `r${String(i)}.example.test`);
    const teams = Array.from({ length: 10 }, (_, i) =>
      set(
        `team-${String(i)}`,
        [`team-${String(i)}`, `team-${String(i)}-*`],
        [`team${String(i)}.example.test`, `*.team${String(i)}.test`],
      ),
    );
    const t = performance.now();
    assert.deepEqual(setConflicts([...teams, set("default", ["*"], big)]), []);
    assert.deepEqual(
      setConflicts([...teams, set("default", ["*"], [...big, "team3.example.test"])]).map((p) =>
        p.message.slice(0, 33),
      ),
      ['conflicts with set "team-3": name'],
    );
    assert.ok(performance.now() - t < 1000, `${String(performance.now() - t)} ms`);
  });

  it("hostile sets stop at the work bound with one problem saying so", () => {
    const globs = (c: string): string[] =>
      Array.from({ length: 3000 }, (_, i) => `${c}${String(i)}*.example.test`);
    const t = performance.now();
    const got = setConflicts([set("a", ["*"], globs("a")), set("b", ["*"], globs("b"))]);
    assert.ok(performance.now() - t < 5000, `${String(performance.now() - t)} ms`);
    assert.deepEqual(
      got.map((p) => p.path),
      ["data.credentialSets"],
    );
    assert.ok(
      got[0]?.message.startsWith(
        `checking the sets for conflicts took more than ${String(credentialSetLimits.conflictWork)} steps`,
      ),
    );
  });
});

describe("setConflicts through nextPolicy: bounded messages", () => {
  it("256 sets all in conflict: at most 100 problems and a count of the rest", () => {
    const specs: CredentialSetSpec[] = Array.from({ length: 255 }, (_, i) => ({
      name: `s${String(i)}`,
      secret: `s${String(i)}`,
      namespaces: ["*"],
      onlyWhenSelected: false,
    }));
    const next = nextPolicy({
      credentials: { ok: true, value: [cred("r.example.test")] },
      settings: {
        ok: true,
        value: {
          matchImages: ["r.example.test"],
          credentialSets: [
            ...specs,
            { name: "default", secret: null, namespaces: ["*"], onlyWhenSelected: false },
          ],
        },
      },
      secrets: new Map(
        specs.map((s) => [s.secret ?? "", { ok: true, value: [cred("r.example.test")] }]),
      ),
      current: null,
    });
    assert.equal(next.kind, "refused");
    assert.equal(next.problems.length, 101);
    assert.match(next.problems[100]?.message ?? "", /^… and 32540 more problems$/);
  });
});
