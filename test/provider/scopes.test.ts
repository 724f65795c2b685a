// Scoped credentials (core/scopes.ts): reading the service-account token the kubelet sends
// (payload only, no signature check), matching namespaces against a set's patterns, and choosing
// the credential set that answers an image. No problem ever quotes any text of the token.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { decodeRawUrlBase64, decodeStdBase64 } from "../../provider/core/base64.ts";
import type { CredentialSet } from "../../provider/core/policy.ts";
import {
  chooseSet,
  isNamespaceName,
  namespaceAllowed,
  MAX_PAYLOAD_DEPTH,
  openToEveryNamespace,
  requestScope,
  SELECT_ANNOTATION,
  TOKEN_AUDIENCE,
  tokenNamespace,
  type Scope,
  type Selection,
} from "../../provider/core/scopes.ts";
import {
  jwt,
  SCOPED_SETS,
  saClaims,
  saToken,
  TOKEN_MARKER,
  TOKEN_SIGNATURE,
  tokenTexts,
} from "./fixtures.ts";

/** Every problem and the token it came from: none may hold any of the token's text. */
const problemsSeen: [string, string][] = [];

function b64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

test("constants", () => {
  assert.equal(TOKEN_AUDIENCE, "nodecred.io");
  assert.equal(SELECT_ANNOTATION, "nodecred.io/credentials");
});

describe("decodeRawUrlBase64 (Go's base64.RawURLEncoding, the encoding of JWT parts)", () => {
  const cases: readonly [string, string, number[] | undefined][] = [
    ["empty", "", []],
    ["one quantum", "Zm9v", [0x66, 0x6f, 0x6f]],
    ["unpadded tail", "Zm9vYg", [0x66, 0x6f, 0x6f, 0x62]],
    ["URL alphabet", "-_-_", [0xfb, 0xff, 0xbf]],
    ["padding is refused (Raw)", "Zm9vYg==", undefined],
    ["standard alphabet + is refused", "+A", undefined],
    ["standard alphabet / is refused", "/A", undefined],
    ["a single trailing sextet", "Zm9vY", undefined],
    ["line breaks skipped, as Go does", "Zm9v\r\nYg", [0x66, 0x6f, 0x6f, 0x62]],
    ["a space is an error", "Zm9v Yg", undefined],
    ["a dot is an error", "Zm9v.Yg", undefined],
  ];
  for (const [name, input, want] of cases) {
    test(name, () => {
      assert.deepEqual(decodeRawUrlBase64(input), want);
    });
  }
  test("agrees with Node's base64url on every byte value", () => {
    const bytes = Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(decodeRawUrlBase64(Buffer.from(bytes).toString("base64url")), bytes);
  });
  test("one decoder, both alphabets: agrees with Node on 2000 random byte strings", () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    for (let n = 0; n < 2000; n++) {
      const bytes = Array.from({ length: n % 61 }, next);
      const buf = Buffer.from(bytes);
      assert.deepEqual(decodeRawUrlBase64(buf.toString("base64url")), bytes);
      assert.deepEqual(decodeStdBase64(buf.toString("base64")), bytes);
    }
  });
  test("the standard decoder still refuses the URL alphabet", () => {
    assert.equal(decodeStdBase64("-_-_"), undefined);
  });
});

describe("tokenNamespace: the pod's namespace from the JWT payload", () => {
  const NOT_JWT = "service account token: not a JWT (want three dot-separated parts)";
  const NOT_B64 = "service account token: malformed payload (not base64url)";
  const NOT_JSON = "service account token: malformed payload (not JSON)";
  const NOT_OBJECT = "service account token: malformed payload (not a JSON object)";
  const BAD_AUD =
    "service account token: malformed payload (aud is neither a string nor a list of strings)";
  const OTHER_AUD = 'service account token: issued for another audience (want "nodecred.io")';
  const NO_CLAIM = "service account token: no kubernetes.io namespace claim";
  const NOT_NAME =
    "service account token: the kubernetes.io namespace claim is not a namespace name";
  const claims = saClaims("team-a");
  const TOO_DEEP = "service account token: malformed payload (nested deeper than 32 levels)";
  /** The claims with `extra` holding `depth` nested arrays (the payload itself is one level). */
  const nested = (depth: number, inner = ""): string =>
    `{"extra":${"[".repeat(depth)}${inner}${"]".repeat(depth)},${JSON.stringify(claims).slice(1)}`;
  const without = (key: string): Record<string, unknown> =>
    Object.fromEntries(Object.entries(claims).filter(([k]) => k !== key));
  const ns = (namespace: unknown): Record<string, unknown> => ({
    ...claims,
    "kubernetes.io": { ...(claims["kubernetes.io"] as object), namespace },
  });
  const body = b64url(JSON.stringify(claims));
  // [name, token, namespace or problem]
  const cases: readonly [string, string, { ns: string } | { problem: string }][] = [
    ["valid (as the API server issues it)", saToken("team-a"), { ns: "team-a" }],
    ["aud as a string", jwt({ ...claims, aud: "nodecred.io" }), { ns: "team-a" }],
    [
      "aud as a list holding ours among others",
      jwt({ ...claims, aud: ["https://kubernetes.default.svc", "nodecred.io"] }),
      { ns: "team-a" },
    ],
    [
      "expired: accepted (exp in 1970)",
      jwt({ ...claims, exp: 1, nbf: 0, iat: 0 }),
      { ns: "team-a" },
    ],
    ["no exp at all: accepted", jwt(without("exp")), { ns: "team-a" }],
    [
      "header and signature are not read",
      `!!not-a-header!!.${body}.!!not-a-signature!!`,
      { ns: "team-a" },
    ],
    ["empty header and signature", `.${body}.`, { ns: "team-a" }],
    ["not a JWT: empty", "", { problem: NOT_JWT }],
    ["not a JWT: no dot", "opaque-token-value", { problem: NOT_JWT }],
    ["not a JWT: two parts", `${b64url("{}")}.${body}`, { problem: NOT_JWT }],
    ["not a JWT: four parts", `${saToken("team-a")}.extra`, { problem: NOT_JWT }],
    ["not a JWT: a trailing dot", `${saToken("team-a")}.`, { problem: NOT_JWT }],
    ["bad base64url: standard alphabet", `h.${body}+/.s`, { problem: NOT_B64 }],
    ["bad base64url: padded", `h.${b64url('{"a":1}')}==.s`, { problem: NOT_B64 }],
    ["bad base64url: a single trailing sextet", "h.Zm9vY.s", { problem: NOT_B64 }],
    [
      "payload not UTF-8",
      `h.${Buffer.from([0x7b, 0xff, 0x7d]).toString("base64url")}.s`,
      {
        problem: "service account token: malformed payload (not UTF-8)",
      },
    ],
    ["payload empty", "h..s", { problem: NOT_JSON }],
    ["payload not JSON", jwt(`not json ${TOKEN_MARKER}`), { problem: NOT_JSON }],
    ["payload truncated JSON", jwt(JSON.stringify(claims).slice(0, 40)), { problem: NOT_JSON }],
    ["payload a JSON array", jwt(JSON.stringify([claims])), { problem: NOT_OBJECT }],
    ["payload JSON null", jwt("null"), { problem: NOT_OBJECT }],
    ["payload a JSON string", jwt(JSON.stringify(TOKEN_MARKER)), { problem: NOT_OBJECT }],
    ["aud missing", jwt(without("aud")), { problem: OTHER_AUD }],
    [
      "another audience (the API server's)",
      jwt({ ...claims, aud: "https://kubernetes.default.svc" }),
      { problem: OTHER_AUD },
    ],
    ["another audience in a list", jwt({ ...claims, aud: ["a", "b"] }), { problem: OTHER_AUD }],
    ["aud an empty list", jwt({ ...claims, aud: [] }), { problem: OTHER_AUD }],
    ["aud compared exactly (case)", jwt({ ...claims, aud: "NodeCred.io" }), { problem: OTHER_AUD }],
    ["aud a number", jwt({ ...claims, aud: 7 }), { problem: BAD_AUD }],
    [
      "aud a list holding a number",
      jwt({ ...claims, aud: ["nodecred.io", 7] }),
      { problem: BAD_AUD },
    ],
    [
      "aud inherited through __proto__ does not count",
      jwt(`{"__proto__":{"aud":"nodecred.io"},"kubernetes.io":{"namespace":"team-a"}}`),
      { problem: OTHER_AUD },
    ],
    ["audience is checked before the namespace", jwt({ aud: "other" }), { problem: OTHER_AUD }],
    ["kubernetes.io missing", jwt(without("kubernetes.io")), { problem: NO_CLAIM }],
    [
      "a top-level namespace is not the claim",
      jwt({ ...without("kubernetes.io"), namespace: "team-a" }),
      { problem: NO_CLAIM },
    ],
    [
      "kubernetes.io a string",
      jwt({ ...claims, "kubernetes.io": "team-a" }),
      { problem: NO_CLAIM },
    ],
    ["kubernetes.io null", jwt({ ...claims, "kubernetes.io": null }), { problem: NO_CLAIM }],
    ["namespace missing", jwt({ ...claims, "kubernetes.io": {} }), { problem: NO_CLAIM }],
    ["namespace not a string", jwt(ns(7)), { problem: NO_CLAIM }],
    ["namespace null", jwt(ns(null)), { problem: NO_CLAIM }],
    ["namespace empty", jwt(ns("")), { problem: NOT_NAME }],
    ["namespace in upper case", jwt(ns("Team-A")), { problem: NOT_NAME }],
    ["namespace with a slash", jwt(ns("team-a/x")), { problem: NOT_NAME }],
    ["namespace of 64 characters", jwt(ns("a".repeat(64))), { problem: NOT_NAME }],
    ["namespace of 63 characters", jwt(ns("a".repeat(63))), { ns: "a".repeat(63) }],
    [
      `nested ${String(MAX_PAYLOAD_DEPTH)} levels`,
      jwt(nested(MAX_PAYLOAD_DEPTH - 1)),
      { ns: "team-a" },
    ],
    [
      `nested ${String(MAX_PAYLOAD_DEPTH + 1)} levels`,
      jwt(nested(MAX_PAYLOAD_DEPTH)),
      { problem: TOO_DEEP },
    ],
    [
      "nested 100000 levels (QuickJS's JSON.parse would overflow)",
      jwt(nested(100_000)),
      { problem: TOO_DEEP },
    ],
    [
      "brackets inside strings do not nest",
      jwt(nested(MAX_PAYLOAD_DEPTH - 1, JSON.stringify(`[{\\"[{${"[".repeat(100)}`))),
      { ns: "team-a" },
    ],
  ];
  for (const [name, token, want] of cases) {
    test(name, () => {
      const got = tokenNamespace(token);
      if ("ns" in want) {
        assert.deepEqual(got, { ok: true, namespace: want.ns });
      } else {
        assert.deepEqual(got, { ok: false, problem: want.problem });
        problemsSeen.push([want.problem, token]);
      }
    });
  }
  test("a 1 MiB payload is read in one pass", () => {
    const big = jwt({ ...claims, pad: "x".repeat(1 << 20) });
    assert.deepEqual(tokenNamespace(big), { ok: true, namespace: "team-a" });
  });
});

describe("isNamespaceName (DNS-1123 label)", () => {
  const cases: readonly [string, boolean][] = [
    ["default", true],
    ["team-a", true],
    ["0", true],
    ["a".repeat(63), true],
    ["", false],
    ["a".repeat(64), false],
    ["-a", false],
    ["a-", false],
    ["Team", false],
    ["team_a", false],
    ["team.a", false],
    ["t\u00e9am", false],
  ];
  for (const [name, want] of cases) {
    test(JSON.stringify(name), () => {
      assert.equal(isNamespaceName(name), want);
    });
  }
});

describe("namespace patterns (Go filepath.Match)", () => {
  const allowed: readonly [string, string[], string, boolean][] = [
    ["literal", ["team-a"], "team-a", true],
    ["literal: no prefix match", ["team-a"], "team-ab", false],
    ["star suffix", ["team-a-*"], "team-a-dev", true],
    ["star suffix needs the dash", ["team-a-*"], "team-a", false],
    ["star alone", ["*"], "kube-system", true],
    ["question mark", ["team-?"], "team-b", true],
    ["question mark: exactly one", ["team-?"], "team-bb", false],
    ["class", ["[ab]-x"], "b-x", true],
    ["class: outside", ["[ab]-x"], "c-x", false],
    ["negated class", ["[^a]-x"], "a-x", false],
    ["escaped literal", ["team\\-a"], "team-a", true],
    ["any of several", ["prod-*", "team-*"], "team-x", true],
    ["none of several", ["prod-*", "team-*"], "dev-x", false],
    ["no patterns: no namespace", [], "default", false],
    ["a malformed pattern matches nothing", ["team-[a"], "team-a", false],
  ];
  for (const [name, patterns, namespace, want] of allowed) {
    test(`namespaceAllowed: ${name}`, () => {
      assert.equal(namespaceAllowed(patterns, namespace), want);
    });
  }
  const open: readonly [string, string[], boolean][] = [
    ["*", ["*"], true],
    ["**", ["**"], true],
    ["* among others", ["team-a", "*"], true],
    ["a glob that is not only stars", ["*-a"], false],
    ["?*", ["?*"], false],
    ["no patterns", [], false],
    ["the empty pattern", [""], false],
  ];
  for (const [name, patterns, want] of open) {
    test(`openToEveryNamespace: ${name}`, () => {
      assert.equal(openToEveryNamespace(patterns), want);
    });
  }
});

function set(
  name: string,
  namespaces: string[],
  keys: string[],
  onlyWhenSelected = false,
): CredentialSet {
  return {
    name,
    secret: `${name}-registry`,
    namespaces,
    onlyWhenSelected,
    credentials: keys.map((key) => ({ key, username: name, password: `pw-${name}` })),
  };
}

describe("chooseSet: annotation first (if allowed and answering), else first allowed in file order", () => {
  const REG = "reg.example.com/app";
  const CORP = "build.corp.example/tools/x";
  // SCOPED_SETS: team-a [team-a, team-a-*], team-a-ci [team-a] onlyWhenSelected, team-b [team-b],
  // default [*] (corp only); all team sets hold reg.example.com.
  interface Case {
    readonly name: string;
    readonly sets?: readonly CredentialSet[];
    readonly scope: Scope;
    readonly image: string;
    readonly chosen: string | null;
    readonly selection: Selection;
    readonly allowed?: readonly string[];
  }
  const scope = (namespace: string | null, selected: string | null = null): Scope => ({
    namespace,
    selected,
  });
  const cases: readonly Case[] = [
    {
      name: "team-a: its own set",
      scope: scope("team-a"),
      image: REG,
      chosen: "team-a",
      selection: "none",
      allowed: ["team-a", "team-a-ci", "default"],
    },
    {
      name: "team-a-dev (by pattern team-a-*)",
      scope: scope("team-a-dev"),
      image: REG,
      chosen: "team-a",
      selection: "none",
      allowed: ["team-a", "default"],
    },
    {
      name: "team-b: its own set, never team-a's",
      scope: scope("team-b"),
      image: REG,
      chosen: "team-b",
      selection: "none",
      allowed: ["team-b", "default"],
    },
    {
      name: "a namespace no team set admits: only default, which has no key for the image",
      scope: scope("team-c"),
      image: REG,
      chosen: null,
      selection: "none",
      allowed: ["default"],
    },
    {
      name: "default answers what the team sets do not",
      scope: scope("team-a"),
      image: CORP,
      chosen: "default",
      selection: "none",
    },
    {
      name: "no token: only sets open to every namespace",
      scope: scope(null),
      image: REG,
      chosen: null,
      selection: "none",
      allowed: ["default"],
    },
    {
      name: "no token: the open set answers",
      scope: scope(null),
      image: CORP,
      chosen: "default",
      selection: "none",
    },
    {
      name: "onlyWhenSelected: selected by the annotation",
      scope: scope("team-a", "team-a-ci"),
      image: REG,
      chosen: "team-a-ci",
      selection: "used",
    },
    {
      name: "annotation naming a set not allowed for the namespace: ignored",
      scope: scope("team-a-dev", "team-a-ci"),
      image: REG,
      chosen: "team-a",
      selection: "not-allowed",
    },
    {
      name: "annotation never grants: team-b naming team-a gets team-b",
      scope: scope("team-b", "team-a"),
      image: REG,
      chosen: "team-b",
      selection: "not-allowed",
    },
    {
      name: "annotation never grants: no token naming team-a gets nothing",
      scope: scope(null, "team-a"),
      image: REG,
      chosen: null,
      selection: "not-allowed",
    },
    {
      name: "annotation naming no set: ignored",
      scope: scope("team-a", "nope"),
      image: REG,
      chosen: "team-a",
      selection: "unknown",
    },
    {
      name: "annotation naming a set without a key for the image: the others are tried",
      scope: scope("team-a", "team-a-ci"),
      image: CORP,
      chosen: "default",
      selection: "no-answer",
    },
    {
      name: "annotation selecting a set that would come later",
      scope: scope("team-a", "default"),
      image: CORP,
      chosen: "default",
      selection: "used",
    },
    {
      name: "annotation selecting default, which has no key: team-a answers",
      scope: scope("team-a", "default"),
      image: REG,
      chosen: "team-a",
      selection: "no-answer",
    },
    {
      name: "onlyWhenSelected is never used without the annotation",
      sets: [set("ci", ["*"], ["reg.example.com"], true)],
      scope: scope("team-a"),
      image: REG,
      chosen: null,
      selection: "none",
    },
    {
      name: "file order: the first allowed set that answers",
      sets: [set("x", ["*"], ["reg.example.com"]), set("y", ["team-a"], ["reg.example.com"])],
      scope: scope("team-a"),
      image: REG,
      chosen: "x",
      selection: "none",
    },
    {
      name: "file order, reversed",
      sets: [set("y", ["team-a"], ["reg.example.com"]), set("x", ["*"], ["reg.example.com"])],
      scope: scope("team-a"),
      image: REG,
      chosen: "y",
      selection: "none",
    },
    {
      name: "a set without credentials answers nothing",
      sets: [set("empty", ["*"], []), set("x", ["*"], ["reg.example.com"])],
      scope: scope("team-a"),
      image: REG,
      chosen: "x",
      selection: "none",
    },
    {
      name: "the Docker Hub fallback counts as an answer",
      sets: [set("hub", ["*"], ["https://index.docker.io/v1/"])],
      scope: scope("team-a"),
      image: "docker.io/library/nginx",
      chosen: "hub",
      selection: "none",
    },
    {
      name: "namespaces [] admit no namespace",
      sets: [set("none", [], ["reg.example.com"])],
      scope: scope("default"),
      image: REG,
      chosen: null,
      selection: "none",
      allowed: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = chooseSet(c.sets ?? SCOPED_SETS, c.scope, c.image);
      assert.equal(got.chosen?.set.name ?? null, c.chosen);
      assert.equal(got.selection, c.selection);
      if (c.allowed !== undefined) {
        assert.deepEqual(
          got.allowed.map((s) => s.name),
          c.allowed,
        );
      }
      if (got.chosen !== null) {
        assert.ok(got.chosen.lookup.credentials.length > 0);
        for (const cred of got.chosen.lookup.credentials) {
          assert.ok(got.chosen.set.credentials.includes(cred), "credentials of the chosen set");
        }
      }
    });
  }
});

describe("requestScope: the token's namespace and the selection annotation", () => {
  const cases: readonly [
    string,
    string | undefined,
    Record<string, string> | undefined,
    Scope | string,
  ][] = [
    ["no token, no annotations", undefined, undefined, { namespace: null, selected: null }],
    ["a token", saToken("team-b"), undefined, { namespace: "team-b", selected: null }],
    [
      "a token and the annotation",
      saToken("team-a"),
      { [SELECT_ANNOTATION]: "team-a-ci" },
      { namespace: "team-a", selected: "team-a-ci" },
    ],
    [
      "other annotations are not a selection",
      saToken("team-a"),
      { "example.com/credentials": "team-a-ci" },
      { namespace: "team-a", selected: null },
    ],
    [
      "the annotation without a token",
      undefined,
      { [SELECT_ANNOTATION]: "default" },
      { namespace: null, selected: "default" },
    ],
    [
      "a bad token is refused, whatever the annotation",
      "a.b",
      { [SELECT_ANNOTATION]: "team-a" },
      "service account token: not a JWT (want three dot-separated parts)",
    ],
  ];
  for (const [name, token, annotations, want] of cases) {
    test(name, () => {
      const got = requestScope(token, annotations);
      if (typeof want === "string") {
        assert.deepEqual(got, { ok: false, problem: want });
        problemsSeen.push([want, token ?? ""]);
      } else {
        assert.deepEqual(got, { ok: true, scope: want });
      }
    });
  }
});

after(() => {
  assert.ok(problemsSeen.length > 20);
  for (const [problem, token] of problemsSeen) {
    assert.ok(!problem.includes(TOKEN_SIGNATURE), `${problem} holds the signature`);
    assert.ok(!problem.includes(TOKEN_MARKER), `${problem} holds a claim`);
    for (const part of tokenTexts(token)) {
      assert.ok(!problem.includes(part), `${problem} holds token text`);
    }
  }
});
