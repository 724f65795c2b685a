// Docker config JSON parsing and validation. Cases marked "upstream" are ported from
// kubernetes/kubernetes pkg/credentialprovider/config_test.go (v1.34).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  decodeDockerAuthBase64,
  decodeStdBase64,
  encodeBase64Utf8,
} from "../../provider/core/base64.ts";
import {
  decodeAuthField,
  describeKey,
  parseDockerConfig,
} from "../../provider/core/docker-config.ts";

const SECRET = "pw-very-secret-31d7";

function entries(text: string): { key: string; username: string; password: string }[] {
  const r = parseDockerConfig(text);
  assert.ok(r.ok, r.ok ? "" : r.problems.join("; "));
  return r.entries.map((e) => ({ ...e }));
}

function problems(text: string): string[] {
  const r = parseDockerConfig(text);
  assert.ok(!r.ok, "expected problems");
  for (const p of r.problems) assert.ok(!p.includes(SECRET), `problem leaks the secret: ${p}`);
  return r.problems;
}

describe("decodeDockerConfigFieldAuth (upstream TestDecodeDockerConfigFieldAuth + ours)", () => {
  const cases: readonly [string, string, { username: string; password: string } | undefined][] = [
    ["upstream: padded", "Zm9vOmJhcg==", { username: "foo", password: "bar" }],
    ["upstream: not padded", "Zm9vOmJhcg", { username: "foo", password: "bar" }],
    ["upstream: newlines ignored", "Zm9vOm\nJhcg==\n", { username: "foo", password: "bar" }],
    ["upstream: no colon", "cGFudHM=", undefined],
    ["upstream: only newlines are ignored", "Zm9vOmJhcg== ", undefined],
    ["upstream: bad base64", "pants", undefined],
    [
      "split at the first colon",
      encodeBase64Utf8("foo:bar:baz"),
      { username: "foo", password: "bar:baz" },
    ],
    ["empty username", encodeBase64Utf8(":pw"), { username: "", password: "pw" }],
    ["padding in an unpadded field", "Zm9vOmJhcg=\n=", { username: "foo", password: "bar" }],
    ["wrong padding", "Zm9vOmJhcg=", undefined],
    ["too much padding", "Zm9vOmJhcg===", undefined],
    ["data after padding", "Zm9vOmJhcg==Zm9v", undefined],
    ["URL-safe alphabet is not accepted", "Zm9vOmJhcg-_", undefined],
    ["a single trailing sextet", "Y", undefined],
    [
      "unused trailing bits are ignored (Go is not strict)",
      "Zm9vOmJhch",
      { username: "foo", password: "bar" },
    ],
    [
      "UTF-8 credentials",
      encodeBase64Utf8("\u00e9l\u00e8ve:m\u00f6t"),
      { username: "\u00e9l\u00e8ve", password: "m\u00f6t" },
    ],
    ["not UTF-8 (judgement: refused, the response could not carry it)", "/zph", undefined],
  ];
  for (const [name, input, want] of cases) {
    test(name, () => {
      const got = decodeAuthField(input);
      if (want === undefined) assert.equal(got.ok, false);
      else assert.deepEqual(got, { ok: true, ...want });
    });
  }
});

// One decoder, two Kubernetes uses that really differ: the API server's Secret `data` needs padding,
// the kubelet's `auth` field takes it unpadded too (and tolerates surrounding space before "=").
describe("the two base64 rules", () => {
  const cases: [string, string, boolean, boolean][] = [
    // [name, input, API server (Std) accepts, kubelet auth accepts]
    ["padded", "dTpwMQ==", true, true],
    ["unpadded", "dTpwMQ", false, true],
    ["line breaks", "dTpw\r\nMQ==", true, true],
    ["padding then space", "dTpwMQ== ", false, false],
    ["URL alphabet", "-_-_", false, false],
  ];
  for (const [name, input, std, auth] of cases) {
    test(name, () => {
      assert.equal(decodeStdBase64(input) !== undefined, std);
      assert.equal(decodeDockerAuthBase64(input) !== undefined, auth);
    });
  }
});

describe("DockerConfigEntry decoding (upstream TestDockerConfigEntryJSONDecode + ours)", () => {
  const one = (entry: unknown): string => JSON.stringify({ auths: { "reg.io": entry } });
  test("upstream: simple case, just the fields", () => {
    assert.deepEqual(entries(one({ username: "foo", password: "bar", email: "foo@example.com" })), [
      { key: "reg.io", username: "foo", password: "bar" },
    ]);
  });
  test("upstream: auth decodes to username and password", () => {
    assert.deepEqual(entries(one({ auth: "Zm9vOmJhcg==", email: "foo@example.com" })), [
      { key: "reg.io", username: "foo", password: "bar" },
    ]);
  });
  test("upstream: auth overrides username and password", () => {
    assert.deepEqual(entries(one({ username: "foo", password: "bar", auth: "cGluZzpwb25n" })), [
      { key: "reg.io", username: "ping", password: "pong" },
    ]);
  });
  test("an empty auth does not override", () => {
    assert.deepEqual(entries(one({ username: "foo", password: "bar", auth: "" })), [
      { key: "reg.io", username: "foo", password: "bar" },
    ]);
  });
  test("upstream: poorly formatted auth fails", () => {
    assert.deepEqual(problems(one({ auth: "pants" })), ['auths["reg.io"].auth: not valid base64']);
  });
  test("upstream: invalid JSON types fail", () => {
    assert.deepEqual(problems(one({ email: false, username: "u", password: "p" })), [
      'auths["reg.io"].email: must be a string',
    ]);
  });
  test("field names match case-insensitively, like encoding/json", () => {
    assert.deepEqual(
      entries(JSON.stringify({ Auths: { "reg.io": { USERNAME: "u", Password: "p" } } })),
      [{ key: "reg.io", username: "u", password: "p" }],
    );
    assert.deepEqual(entries(one({ uſername: "u", password: "p" })), [
      { key: "reg.io", username: "u", password: "p" },
    ]);
  });
  test("two spellings of one field are ambiguous", () => {
    assert.equal(problems(one({ username: "u", Username: "v", password: "p" })).length, 1);
  });
  test("null fields are empty, like Go", () => {
    assert.deepEqual(entries(one({ username: "u", password: "p", auth: null, email: null })), [
      { key: "reg.io", username: "u", password: "p" },
    ]);
  });
});

describe("document validation", () => {
  test("upstream TestReadDockerConfigJSONFileFromBytes: two entries, document order", () => {
    const text =
      '{"auths": {"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"}, "http://bar.example.com":{"username": "bar", "password": "baz", "email": "bar@example.com"}}}';
    assert.deepEqual(entries(text), [
      { key: "http://foo.example.com", username: "foo", password: "bar" },
      { key: "http://bar.example.com", username: "bar", password: "baz" },
    ]);
  });
  const bad: readonly [string, string, string][] = [
    [
      "upstream: truncated JSON",
      `{"auths": {"reg.io": {"username": "u", "password": "${SECRET}"`,
      "not valid JSON",
    ],
    ["not an object", "[]", "the document must be a JSON object"],
    [
      "legacy .dockercfg map",
      `{"reg.io": {"username": "u", "password": "${SECRET}"}}`,
      "auths: missing",
    ],
    ["auths not an object", '{"auths": []}', "auths: must be an object"],
    ["empty auths", '{"auths": {}}', "auths: is empty"],
    ["entry not an object", '{"auths": {"reg.io": "x"}}', 'auths["reg.io"]: must be an object'],
    [
      "no credentials",
      '{"auths": {"reg.io": {"email": "a@b"}}}',
      'auths["reg.io"]: has no credentials',
    ],
    [
      "identity token only",
      '{"auths": {"reg.io": {"identitytoken": "tok"}}}',
      "identitytoken, which the kubelet does not use",
    ],
    [
      "empty key",
      `{"auths": {"": {"username": "u", "password": "${SECRET}"}}}`,
      'auths[""]: the registry key is empty',
    ],
    [
      "key url.Parse rejects",
      `{"auths": {"%zz": {"username": "u", "password": "${SECRET}"}}}`,
      "not a valid URL",
    ],
    [
      "auth without colon",
      `{"auths": {"reg.io": {"auth": "${encodeBase64Utf8(SECRET)}"}}}`,
      "(no colon)",
    ],
    [
      "password not a string",
      '{"auths": {"reg.io": {"username": "u", "password": 5}}}',
      ".password: must be a string",
    ],
  ];
  for (const [name, text, want] of bad) {
    test(`${name} is a problem`, () => {
      const got = problems(text);
      assert.ok(
        got.some((p) => p.includes(want)),
        got.join("; "),
      );
    });
  }
  test("every problem is reported at once", () => {
    const text = JSON.stringify({
      auths: { a: { auth: "pants" }, b: {}, "%zz": { username: "u", password: SECRET } },
    });
    assert.equal(problems(text).length, 3);
  });
  test("userinfo in a key is redacted in messages", () => {
    assert.equal(describeKey(`user:${SECRET}@reg.io/x`), '"REDACTED@reg.io/x"');
    assert.equal(describeKey(`https://user:${SECRET}@reg.io`), '"https://REDACTED@reg.io"');
    assert.equal(describeKey("reg.io/a@b"), '"reg.io/a@b"');
    const got = problems(JSON.stringify({ auths: { [`u:${SECRET}@reg.io`]: { auth: "pants" } } }));
    assert.deepEqual(got, ['auths["REDACTED@reg.io"].auth: not valid base64']);
  });
});
