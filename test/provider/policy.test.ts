// The live policy file (core/policy.ts): canonical bytes, the strict reader (a truncated, foreign
// or partial file is refused as a whole, with every problem and never a secret), and the
// kubelet's isImageAllowed over the live rules.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { encodeBase64Utf8 } from "../../provider/core/base64.ts";
import type { Credential } from "../../provider/core/keyring.ts";
import {
  formatPolicy,
  matchingRule,
  MAX_CREDENTIAL_SETS,
  MAX_NAMESPACE_PATTERNS,
  parsePolicy,
  type CredentialSet,
  type Grants,
  type Policy,
} from "../../provider/core/policy.ts";
import {
  CREDENTIALS,
  PASSWORDS,
  POLICY,
  POLICY_CREDENTIALS,
  POLICY_RULES,
  SCOPED_POLICY,
  SCOPED_RULES,
  SCOPED_SETS,
} from "./fixtures.ts";

const HEAD = { apiVersion: "nodecred.io/v1", kind: "CredentialPolicy" };
const NOT_JSON = "not valid JSON (a truncated or foreign file?)";
const NOT_POLICY =
  'not a nodecred policy file (want apiVersion "nodecred.io/v1" and kind "CredentialPolicy")';

const allProblems: string[] = [];

function parsed(text: string): Policy {
  const r = parsePolicy(text);
  assert.ok(r.ok, r.ok ? "" : r.problems.join("; "));
  return r.policy;
}

function problems(text: string): readonly string[] {
  const r = parsePolicy(text);
  assert.ok(!r.ok, "accepted, want refused");
  allProblems.push(...r.problems);
  return r.problems;
}

function cred(key: string, username: string, password: string): Credential {
  return { key, username, password };
}

function unscoped(credentials: readonly Credential[]): Grants {
  return { scoped: false, credentials };
}

/** An unscoped policy's credentials (fails for a scoped one). */
function credentialsOf(policy: Policy): readonly Credential[] {
  const { grants } = policy;
  if (grants.scoped) assert.fail("scoped, want unscoped");
  return grants.credentials;
}

describe("formatPolicy", () => {
  test("canonical bytes: sorted keys, one line, trailing newline", () => {
    assert.equal(
      formatPolicy(
        ["reg.io/team", "*.corp.example"],
        unscoped([
          cred("reg.io", "u1", "pw-alpha-7f3a"),
          cred("*.corp.example", "u2", "pw-beta-91c2"),
        ]),
      ),
      '{"apiVersion":"nodecred.io/v1","auths":{"*.corp.example":{"password":"pw-beta-91c2","username":"u2"},' +
        '"reg.io":{"password":"pw-alpha-7f3a","username":"u1"}},"kind":"CredentialPolicy",' +
        '"matchImages":["reg.io/team","*.corp.example"]}\n',
    );
  });
  test("matchImages keep their order; credentials in any order give the same bytes", () => {
    const reversed = formatPolicy(POLICY_RULES, unscoped([...POLICY_CREDENTIALS].reverse()));
    assert.equal(reversed, POLICY);
    assert.notEqual(
      formatPolicy([...POLICY_RULES].reverse(), unscoped(POLICY_CREDENTIALS)),
      POLICY,
    );
  });
  test("round trip: parse, format again, same bytes", () => {
    const policy = parsed(POLICY);
    const patterns = policy.rules.map((r) => r.pattern);
    assert.deepEqual(patterns, POLICY_RULES);
    assert.deepEqual(
      [...credentialsOf(policy)].sort((a, b) => (a.key < b.key ? -1 : 1)),
      [...POLICY_CREDENTIALS].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    assert.equal(formatPolicy(patterns, policy.grants), POLICY);
  });
  test('"__proto__" and "constructor" are registry keys like any other', () => {
    const creds = [
      cred("__proto__", "proto", "pw-alpha-7f3a"),
      cred("constructor", "ctor", "pw-beta-91c2"),
      cred("reg.io", "plain", "pw-team-0b8e"),
    ];
    const text = formatPolicy(["reg.io"], unscoped(creds));
    assert.ok(text.includes('"__proto__":{"password":"pw-alpha-7f3a","username":"proto"}'), text);
    const policy = parsed(text);
    assert.deepEqual(
      credentialsOf(policy).map((c) => [c.key, c.username]),
      [
        ["__proto__", "proto"],
        ["constructor", "ctor"],
        ["reg.io", "plain"],
      ],
    );
    assert.equal(formatPolicy(["reg.io"], policy.grants), text);
  });
  test("escapes and non-ASCII survive the round trip", () => {
    const odd = cred("reg.io", '\u00e9l\u00e8ve "q"', 'p\\w\n\u2028\ud83d\ude00"');
    const text = formatPolicy(["reg.io"], unscoped([odd]));
    assert.equal(text.split("\n").length, 2, "one line");
    assert.deepEqual(credentialsOf(parsed(text)), [odd]);
  });
});

describe("parsePolicy accepts", () => {
  // The reader checks content, not bytes: a hand-written file is as good as the installer's.
  const cases: readonly [string, string, number, number][] = [
    ["the installer's bytes", POLICY, POLICY_RULES.length, POLICY_CREDENTIALS.length],
    [
      "pretty-printed, fields in any order",
      JSON.stringify(
        {
          matchImages: ["reg.io"],
          kind: "CredentialPolicy",
          auths: { "reg.io": { username: "u", password: "pw-alpha-7f3a" } },
          apiVersion: "nodecred.io/v1",
        },
        null,
        2,
      ),
      1,
      1,
    ],
    [
      "auths entries read like a Docker config's (auth, email)",
      JSON.stringify({
        ...HEAD,
        matchImages: ["reg.io", "*.corp.example"],
        auths: {
          "reg.io": { auth: encodeBase64Utf8("alice:pw-alpha-7f3a"), email: "a@example.com" },
          "https://reg.io/v2/team": { username: "team", password: "pw-team-0b8e" },
        },
      }),
      2,
      2,
    ],
  ];
  for (const [name, text, rules, credentials] of cases) {
    test(name, () => {
      const policy = parsed(text);
      assert.equal(policy.rules.length, rules);
      assert.equal(credentialsOf(policy).length, credentials);
    });
  }
});

describe("parsePolicy refuses, listing every problem", () => {
  const good = {
    matchImages: ["reg.io"],
    auths: { "reg.io": { username: "u", password: "pw-alpha-7f3a" } },
  };
  const cases: readonly [string, string, readonly string[]][] = [
    ["empty file", "", [NOT_JSON]],
    [
      "YAML instead of JSON",
      "apiVersion: nodecred.io/v1\nkind: CredentialPolicy\nmatchImages: [reg.io]\n",
      [NOT_JSON],
    ],
    ["a JSON list", JSON.stringify([HEAD]), ["the document must be a JSON object"]],
    ["JSON null", "null", ["the document must be a JSON object"]],
    [
      "foreign JSON: a Kubernetes Secret",
      JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        data: { ".dockerconfigjson": encodeBase64Utf8(CREDENTIALS) },
      }),
      [NOT_POLICY],
    ],
    [
      "a Docker config (the --credentials format)",
      CREDENTIALS,
      [
        'not a nodecred policy file but a Docker config (auths without kind "CredentialPolicy"); read it with --credentials',
      ],
    ],
    [
      "wrong apiVersion",
      JSON.stringify({ ...good, ...HEAD, apiVersion: "nodecred.io/v2" }),
      [NOT_POLICY],
    ],
    [
      "kind is case-sensitive",
      JSON.stringify({ ...good, ...HEAD, kind: "credentialpolicy" }),
      [NOT_POLICY],
    ],
    ["apiVersion missing", JSON.stringify({ ...good, kind: "CredentialPolicy" }), [NOT_POLICY]],
    [
      "unknown field",
      JSON.stringify({ ...HEAD, ...good, cacheDuration: "5m" }),
      ['unknown field(s) "cacheDuration"'],
    ],
    [
      "a field spelled in another case is unknown, not folded",
      JSON.stringify({ ...HEAD, auths: good.auths, MatchImages: ["reg.io"] }),
      ['unknown field(s) "MatchImages"', "matchImages: missing"],
    ],
    [
      "matchImages missing",
      JSON.stringify({ ...HEAD, auths: good.auths }),
      ["matchImages: missing"],
    ],
    [
      "matchImages empty",
      JSON.stringify({ ...HEAD, auths: good.auths, matchImages: [] }),
      ["matchImages: is empty"],
    ],
    [
      "matchImages not a list",
      JSON.stringify({ ...HEAD, auths: good.auths, matchImages: "reg.io" }),
      ["matchImages: must be a list of patterns"],
    ],
    [
      "matchImages null",
      JSON.stringify({ ...HEAD, auths: good.auths, matchImages: null }),
      ["matchImages: must be a list of patterns"],
    ],
    [
      "a number in matchImages",
      JSON.stringify({ ...HEAD, auths: good.auths, matchImages: ["reg.io", 5000] }),
      ["matchImages[1]: must be a string"],
    ],
    [
      "an invalid pattern (upstream %invalid%)",
      JSON.stringify({ ...HEAD, auths: good.auths, matchImages: ["reg.io", "%invalid%"] }),
      ['matchImages[1] "%invalid%": match image is invalid: invalid URL escape "%in"'],
    ],
    [
      "an invalid port",
      JSON.stringify({ ...HEAD, auths: good.auths, matchImages: ["reg.io:abc"] }),
      ['matchImages[0] "reg.io:abc": match image is invalid: invalid port ":abc" after host'],
    ],
    [
      "auths missing",
      JSON.stringify({ ...HEAD, matchImages: ["reg.io"] }),
      ["auths: missing (or sets, for scoped credentials)"],
    ],
    [
      "auths empty",
      JSON.stringify({ ...HEAD, matchImages: ["reg.io"], auths: {} }),
      ["auths: is empty"],
    ],
    [
      "auths not an object",
      JSON.stringify({ ...HEAD, matchImages: ["reg.io"], auths: ["reg.io"] }),
      ["auths: must be an object"],
    ],
    [
      "a bad auths entry (one good entry does not save the file)",
      JSON.stringify({
        ...HEAD,
        matchImages: ["reg.io"],
        auths: {
          "reg.io": { username: "u", password: "pw-alpha-7f3a" },
          "r.io": { auth: encodeBase64Utf8(PASSWORDS[2] ?? "") },
          "s.io": { auth: `${PASSWORDS[1] ?? ""}!` },
          "t.io": { password: 7 },
          [`u:${PASSWORDS[3] ?? ""}@v.io`]: {},
        },
      }),
      [
        'auths["r.io"].auth: the decoded value is not "username:password" (no colon)',
        'auths["s.io"].auth: not valid base64',
        'auths["t.io"].password: must be a string',
        'auths["REDACTED@v.io"]: has no credentials; give auth, or username and password',
      ],
    ],
    [
      "every problem at once",
      JSON.stringify({
        ...HEAD,
        extra: true,
        matchImages: [1, "%zz"],
        auths: { "": { username: "u", password: PASSWORDS[4] ?? "" } },
      }),
      [
        'unknown field(s) "extra"',
        "matchImages[0]: must be a string",
        'matchImages[1] "%zz": match image is invalid: invalid URL escape "%zz"',
        'auths[""]: the registry key is empty',
      ],
    ],
  ];
  for (const [name, text, want] of cases) {
    test(name, () => {
      assert.deepEqual(problems(text), want);
    });
  }

  test("a truncated file is refused at every cut, never half-read", () => {
    // Every proper prefix of the installer's bytes; the only one that is whole is the file
    // without its final newline.
    for (let n = 0; n < POLICY.length - 1; n++) {
      assert.deepEqual(problems(POLICY.slice(0, n)), [NOT_JSON], `cut at ${String(n)}`);
    }
    assert.equal(credentialsOf(parsed(POLICY.slice(0, POLICY.length - 1))).length, 5);
  });
});

describe("scoped policy (credential sets)", () => {
  const sets = (policy: Policy): readonly CredentialSet[] => {
    const { grants } = policy;
    if (!grants.scoped) assert.fail("unscoped, want scoped");
    return grants.sets;
  };
  const SET_A: CredentialSet = {
    name: "team-a",
    secret: "team-a-registry",
    namespaces: ["team-a", "team-a-*"],
    onlyWhenSelected: false,
    // In the order the file keeps them (sorted), so that a parsed set deep-equals this one.
    credentials: [
      cred("*.corp.example", "uc", "pw-beta-91c2"),
      cred("reg.io", "ua", "pw-alpha-7f3a"),
    ],
  };
  const DEFAULT: CredentialSet = {
    name: "default",
    secret: null,
    namespaces: ["*"],
    onlyWhenSelected: true,
    credentials: [],
  };

  test("canonical bytes: no auths, sets in order, each with sorted keys", () => {
    assert.equal(
      formatPolicy(["reg.io"], { scoped: true, sets: [SET_A, DEFAULT] }),
      '{"apiVersion":"nodecred.io/v1","kind":"CredentialPolicy","matchImages":["reg.io"],"sets":[' +
        '{"auths":{"*.corp.example":{"password":"pw-beta-91c2","username":"uc"},' +
        '"reg.io":{"password":"pw-alpha-7f3a","username":"ua"}},"name":"team-a",' +
        '"namespaces":["team-a","team-a-*"],"onlyWhenSelected":false,"secret":"team-a-registry"},' +
        '{"auths":{},"name":"default","namespaces":["*"],"onlyWhenSelected":true,"secret":null}]}\n',
    );
  });
  test("set order and namespace order are kept; credential order is not", () => {
    const text = formatPolicy(["reg.io"], { scoped: true, sets: [SET_A, DEFAULT] });
    const reversedCreds = { ...SET_A, credentials: [...SET_A.credentials].reverse() };
    assert.notDeepEqual(reversedCreds, SET_A);
    assert.equal(formatPolicy(["reg.io"], { scoped: true, sets: [reversedCreds, DEFAULT] }), text);
    assert.notEqual(formatPolicy(["reg.io"], { scoped: true, sets: [DEFAULT, SET_A] }), text);
    const reversedNs = { ...SET_A, namespaces: [...SET_A.namespaces].reverse() };
    assert.notEqual(formatPolicy(["reg.io"], { scoped: true, sets: [reversedNs, DEFAULT] }), text);
  });
  test("round trip: parse, format again, same bytes", () => {
    for (const grants of [
      { scoped: true, sets: SCOPED_SETS },
      { scoped: true, sets: [SET_A, DEFAULT] },
    ] as const) {
      const text = formatPolicy(SCOPED_RULES, grants);
      const policy = parsed(text);
      assert.deepEqual(sets(policy), grants.sets);
      assert.equal(formatPolicy(SCOPED_RULES, policy.grants), text);
    }
    assert.equal(formatPolicy(SCOPED_RULES, parsed(SCOPED_POLICY).grants), SCOPED_POLICY);
  });
  test("unscoped bytes are unchanged by the scoped format (golden)", () => {
    // The bytes every node holds today: a scoped-aware reader and writer must not move them.
    assert.equal(
      formatPolicy(["reg.io"], unscoped([cred("reg.io", "u", "pw-alpha-7f3a")])),
      '{"apiVersion":"nodecred.io/v1","auths":{"reg.io":{"password":"pw-alpha-7f3a","username":"u"}},' +
        '"kind":"CredentialPolicy","matchImages":["reg.io"]}\n',
    );
    assert.equal(parsed(POLICY).grants.scoped, false);
  });

  const head = { ...HEAD, matchImages: ["reg.io"] };
  const goodSet = {
    name: "team-a",
    secret: "team-a-registry",
    namespaces: ["team-a"],
    onlyWhenSelected: false,
    auths: { "reg.io": { username: "u", password: "pw-alpha-7f3a" } },
  };
  const doc = (...list: unknown[]): string => JSON.stringify({ ...head, sets: list });
  test("accepted: a set without credentials (its Secret is not there yet)", () => {
    const [only] = sets(parsed(doc({ ...goodSet, auths: {} })));
    assert.deepEqual(only?.credentials, []);
  });
  test("accepted: namespaces [] (a set no namespace may use)", () => {
    assert.deepEqual(sets(parsed(doc({ ...goodSet, namespaces: [] })))[0]?.namespaces, []);
  });
  test("accepted: the most sets and patterns", () => {
    const many = Array.from({ length: MAX_CREDENTIAL_SETS }, (_, i) => ({
      ...goodSet,
      name: `s${String(i)}`,
      namespaces: Array.from({ length: MAX_NAMESPACE_PATTERNS }, (_, j) => `n${String(j)}`),
    }));
    assert.equal(sets(parsed(doc(...many))).length, MAX_CREDENTIAL_SETS);
  });

  const cases: readonly [string, string, readonly string[]][] = [
    [
      "auths and sets both",
      JSON.stringify({ ...head, auths: goodSet.auths, sets: [goodSet] }),
      ["auths and sets: give one, not both (sets: scoped credentials)"],
    ],
    ["sets empty", doc(), ["sets: is empty"]],
    [
      "sets not a list",
      JSON.stringify({ ...head, sets: { "team-a": goodSet } }),
      ["sets: must be a list of credential sets"],
    ],
    [
      "sets null",
      JSON.stringify({ ...head, sets: null }),
      ["sets: must be a list of credential sets"],
    ],
    ["a set not an object", doc(goodSet, "team-b"), ["sets[1]: must be an object"]],
    [
      "unknown field in a set",
      doc({ ...goodSet, Secret: "x", priority: 1 }),
      ['sets[0]: unknown field(s) "Secret", "priority"'],
    ],
    [
      "every field missing",
      doc({}),
      [
        "sets[0].name: missing",
        "sets[0].secret: missing (null: the default Secret)",
        "sets[0].namespaces: missing",
        "sets[0].onlyWhenSelected: missing",
        "sets[0].auths: missing",
      ],
    ],
    [
      "fields of the wrong type",
      doc({ name: 7, secret: 7, namespaces: "team-a", onlyWhenSelected: "yes", auths: [] }),
      [
        "sets[0].name: must be a non-empty string",
        "sets[0].secret: must be a non-empty string or null (the default Secret)",
        "sets[0].namespaces: must be a list of namespace patterns",
        "sets[0].onlyWhenSelected: must be true or false",
        "sets[0].auths: must be an object",
      ],
    ],
    [
      "empty name and secret",
      doc({ ...goodSet, name: "", secret: "" }),
      [
        "sets[0].name: must be a non-empty string",
        "sets[0].secret: must be a non-empty string or null (the default Secret)",
      ],
    ],
    [
      "a namespace pattern not a string",
      doc({ ...goodSet, namespaces: ["team-a", null, 3] }),
      ["sets[0].namespaces[1]: must be a string", "sets[0].namespaces[2]: must be a string"],
    ],
    [
      "duplicate names",
      doc(goodSet, { ...goodSet, secret: "other" }, { ...goodSet, name: "b" }, goodSet),
      [
        'sets[1].name: "team-a" is also the name of sets[0]',
        'sets[3].name: "team-a" is also the name of sets[0]',
      ],
    ],
    [
      "a bad credential in a set, never quoting it",
      doc(goodSet, {
        ...goodSet,
        name: "b",
        auths: {
          "r.io": { auth: `${PASSWORDS[1] ?? ""}!` },
          [`u:${PASSWORDS[3] ?? ""}@v.io`]: {},
        },
      }),
      [
        'sets[1].auths["r.io"].auth: not valid base64',
        'sets[1].auths["REDACTED@v.io"]: has no credentials; give auth, or username and password',
      ],
    ],
    [
      "too many sets",
      doc(
        ...Array.from({ length: MAX_CREDENTIAL_SETS + 1 }, (_, i) => ({
          ...goodSet,
          name: `s${String(i)}`,
        })),
      ),
      [`sets: more than ${String(MAX_CREDENTIAL_SETS)} credential sets`],
    ],
    [
      "too many namespace patterns",
      doc({
        ...goodSet,
        namespaces: Array.from({ length: MAX_NAMESPACE_PATTERNS + 1 }, (_, i) => `n${String(i)}`),
      }),
      [`sets[0].namespaces: more than ${String(MAX_NAMESPACE_PATTERNS)} patterns`],
    ],
    [
      "the unscoped rules still apply next to sets",
      JSON.stringify({ ...HEAD, matchImages: [], extra: 1, sets: [goodSet] }),
      ['unknown field(s) "extra"', "matchImages: is empty"],
    ],
  ];
  for (const [name, text, want] of cases) {
    test(`refused: ${name}`, () => {
      assert.deepEqual(problems(text), want);
    });
  }
  test("refused: a scoped file truncated at every cut", () => {
    for (let n = 0; n < SCOPED_POLICY.length - 1; n += 7) {
      assert.deepEqual(problems(SCOPED_POLICY.slice(0, n)), [NOT_JSON], `cut at ${String(n)}`);
    }
  });
  test("200,000 problems in one set's auths are collected without a spread", () => {
    const auths: Record<string, number> = {};
    for (let i = 0; i < 200_000; i++) auths[`r${String(i)}.io`] = 1;
    const r = parsePolicy(doc({ ...goodSet, auths }));
    assert.equal(r.ok ? 0 : r.problems.length, 200_000);
  });
});

describe("matchingRule (the kubelet's isImageAllowed over the live rules)", () => {
  const cases: readonly [string, string[], string, string | undefined][] = [
    ["host rule: any path", ["reg.io"], "reg.io/a/b", "reg.io"],
    ["host rule: other host", ["reg.io"], "other.io/a", undefined],
    ["segment counts: glob needs one more", ["*.reg.io"], "reg.io/a", undefined],
    ["segment counts: equal", ["*.reg.io"], "a.reg.io/a", "*.reg.io"],
    ["segment counts: glob never spans two", ["*.reg.io"], "a.b.reg.io/a", undefined],
    ["glob never crosses a dot", ["*.io"], "a.b.io/x", undefined],
    ["glob inside a segment", ["reg-*.io"], "reg-eu.io/x", "reg-*.io"],
    ["port: equal", ["reg.io:5000"], "reg.io:5000/a", "reg.io:5000"],
    ["port: rule port, image without", ["reg.io:5000"], "reg.io/a", undefined],
    ["port: image port, rule without", ["reg.io"], "reg.io:5000/a", undefined],
    ["port: compared as strings", ["reg.io:05000"], "reg.io:5000/a", undefined],
    ["path: prefix", ["reg.io/team"], "reg.io/team/app", "reg.io/team"],
    [
      "path: plain string prefix (kubelet quirk)",
      ["reg.io/team"],
      "reg.io/teamx/app",
      "reg.io/team",
    ],
    ["path: other path", ["reg.io/team"], "reg.io/other/app", undefined],
    ["path: image shorter than the rule", ["reg.io/team/app"], "reg.io/team", undefined],
    ["IPv4 with port", ["10.0.0.5:5000"], "10.0.0.5:5000/x/y", "10.0.0.5:5000"],
    ["IPv4: glob octet", ["10.0.0.*:5000"], "10.0.0.7:5000/x", "10.0.0.*:5000"],
    ["IPv6 with port", ["[::1]:5000"], "[::1]:5000/app", "[::1]:5000"],
    ["IPv6: other port", ["[::1]:5000"], "[::1]:5001/app", undefined],
    [
      "Docker Hub official image",
      ["docker.io/library"],
      "docker.io/library/nginx",
      "docker.io/library",
    ],
    [
      "Docker Hub user image outside library/",
      ["docker.io/library"],
      "docker.io/user/app",
      undefined,
    ],
    ["Docker Hub host rule", ["docker.io"], "docker.io/user/app", "docker.io"],
    [
      "index.docker.io is not docker.io (the kubelet sends docker.io)",
      ["index.docker.io"],
      "docker.io/library/nginx",
      undefined,
    ],
    ["first matching rule wins", ["other.io", "*.io", "reg.io"], "reg.io/x", "*.io"],
    ["an image url.Parse refuses matches nothing", ["*"], "%zz/app", undefined],
    ["a scheme in a rule never matches", ["https://reg.io"], "reg.io/a", undefined],
  ];
  for (const [name, rules, image, want] of cases) {
    test(name, () => {
      const policy = parsed(formatPolicy(rules, unscoped([cred("reg.io", "u", "pw-alpha-7f3a")])));
      assert.equal(matchingRule(policy.rules, image)?.pattern, want);
    });
  }
  test("no rules, no match", () => {
    assert.equal(matchingRule([], "reg.io/a"), undefined);
  });
});

after(() => {
  assert.ok(allProblems.length > 20);
  const text = allProblems.join("\n");
  for (const pw of PASSWORDS) {
    assert.ok(!text.includes(pw), `a problem leaks ${pw}`);
    assert.ok(!text.includes(encodeBase64Utf8(pw)), `a problem leaks base64 of ${pw}`);
  }
});
