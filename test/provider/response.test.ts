// The response: wire format, cache key choice and cache duration.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseArgs } from "../../provider/core/cli.ts";
import { buildKeyring, lookup, type Credential } from "../../provider/core/keyring.ts";
import { matchingRule, type PolicyRule } from "../../provider/core/policy.ts";
import { answerFor, chooseCacheKeyType, encodeResponse } from "../../provider/core/response.ts";
import { parseMatchPattern } from "../../provider/core/url-match.ts";

const V1 = "credentialprovider.kubelet.k8s.io/v1";
const FIVE_MIN = 300_000_000_000n;

function cred(key: string, username: string): Credential {
  return { key, username, password: `pw-${username}` };
}

function rule(pattern: string): PolicyRule {
  const parsed = parseMatchPattern(pattern);
  assert.ok(parsed.ok, pattern);
  return { pattern, url: parsed.url };
}

describe("encodeResponse", () => {
  test("field order and only the fields the strict decoder knows", () => {
    const keyring = buildKeyring([cred("reg.io", "u")]);
    const text = encodeResponse(V1, answerFor(keyring, "reg.io/app", FIVE_MIN));
    assert.equal(
      text,
      `{"kind":"CredentialProviderResponse","apiVersion":"${V1}","cacheKeyType":"Registry","cacheDuration":"5m0s","auth":{"reg.io":{"username":"u","password":"pw-u"}}}\n`,
    );
    assert.deepEqual(Object.keys(JSON.parse(text) as object), [
      "kind",
      "apiVersion",
      "cacheKeyType",
      "cacheDuration",
      "auth",
    ]);
  });
  test("same apiVersion as the request", () => {
    const v = "credentialprovider.kubelet.k8s.io/v1alpha1";
    const parsed = JSON.parse(encodeResponse(v, answerFor(buildKeyring([]), "a/b", FIVE_MIN))) as {
      apiVersion: string;
    };
    assert.equal(parsed.apiVersion, v);
  });
  test("no match: empty auth, not cached", () => {
    const text = encodeResponse(
      V1,
      answerFor(buildKeyring([cred("reg.io", "u")]), "other.io/app", FIVE_MIN),
    );
    assert.equal(
      text,
      `{"kind":"CredentialProviderResponse","apiVersion":"${V1}","cacheKeyType":"Image","cacheDuration":"0s","auth":{}}\n`,
    );
  });
  test("keys as written in the file, in lookup order, JSON-escaped", () => {
    const keyring = buildKeyring([
      cred("reg.io", "host"),
      cred("https://reg.io/v2/team", "team"),
      cred("12345", "num"),
    ]);
    const text = encodeResponse(V1, answerFor(keyring, "reg.io/team/app", FIVE_MIN));
    assert.ok(
      text.includes(
        `"auth":{"https://reg.io/v2/team":{"username":"team","password":"pw-team"},"reg.io":{`,
      ),
      text,
    );
    const quoted = buildKeyring([{ key: "reg.io", username: 'a"b', password: "p\\q\n\u2028" }]);
    const parsed = JSON.parse(encodeResponse(V1, answerFor(quoted, "reg.io/x", FIVE_MIN))) as {
      auth: Record<string, { username: string; password: string }>;
    };
    assert.deepEqual(parsed.auth["reg.io"], { username: 'a"b', password: "p\\q\n\u2028" });
  });
  test("cache duration from the flag, zero means not cached", () => {
    const keyring = buildKeyring([cred("reg.io", "u")]);
    assert.equal(answerFor(keyring, "reg.io/x", 3_600_000_000_000n).cacheDuration, "1h0m0s");
    assert.equal(answerFor(keyring, "reg.io/x", 0n).cacheDuration, "0s");
  });
});

describe("chooseCacheKeyType", () => {
  const cases: readonly [string, string[], string, "Image" | "Registry"][] = [
    ["host-only keys: the registry decides", ["reg.io", "*.io"], "reg.io/app", "Registry"],
    [
      "a path key on this host: the image decides",
      ["reg.io", "reg.io/team"],
      "reg.io/other/app",
      "Image",
    ],
    [
      "a path key on another host does not matter",
      ["reg.io", "other.io/team"],
      "reg.io/app",
      "Registry",
    ],
    ["a path key behind a glob on this host", ["*.io/team"], "reg.io/team/app", "Image"],
    [
      "a path key on another port does not matter",
      ["reg.io", "reg.io:5000/team"],
      "reg.io/app",
      "Registry",
    ],
    [
      "Docker Hub fallback with a / in the image",
      ["https://index.docker.io/v1/"],
      "docker.io/library/nginx",
      "Registry",
    ],
    [
      "no / in the image: the fallback depends on it",
      ["https://index.docker.io/v1/"],
      "busybox",
      "Image",
    ],
    ["/v2/ keys are host-only keys", ["https://reg.io/v2/"], "reg.io/app", "Registry"],
  ];
  for (const [name, keys, image, want] of cases) {
    test(name, () => {
      assert.equal(
        chooseCacheKeyType(buildKeyring(keys.map((k, i) => cred(k, `u${String(i)}`))), image),
        want,
      );
    });
  }

  // With a live policy, the rules decide which images get anything at all; the kubelet's cache
  // knows nothing of them.
  const withRules: readonly [string, string[], string[], string, "Image" | "Registry"][] = [
    ["rules: none, as before", ["reg.io"], [], "reg.io/app", "Registry"],
    ["rules: host-only rules", ["reg.io"], ["reg.io", "*.io"], "reg.io/app", "Registry"],
    [
      "rules: a path rule on this host forces Image",
      ["reg.io"],
      ["reg.io/team"],
      "reg.io/team/app",
      "Image",
    ],
    [
      "rules: a path rule on this host forces Image, beside a host rule",
      ["reg.io"],
      ["reg.io", "reg.io/team"],
      "reg.io/app",
      "Image",
    ],
    [
      "rules: a path rule behind a glob on this host",
      ["*.io"],
      ["*.io/team"],
      "reg.io/team/x",
      "Image",
    ],
    [
      "rules: a path rule on another host does not matter",
      ["reg.io", "other.io"],
      ["reg.io", "other.io/team"],
      "reg.io/app",
      "Registry",
    ],
    [
      "rules: a path rule on another port does not matter",
      ["reg.io"],
      ["reg.io", "reg.io:5000/team"],
      "reg.io/app",
      "Registry",
    ],
    [
      "rules: Docker Hub fallback under docker.io/library",
      ["https://index.docker.io/v1/"],
      ["docker.io/library"],
      "docker.io/library/nginx",
      "Image",
    ],
  ];
  for (const [name, keys, rules, image, want] of withRules) {
    test(name, () => {
      const keyring = buildKeyring(keys.map((k, i) => cred(k, `u${String(i)}`)));
      assert.equal(
        chooseCacheKeyType(
          keyring,
          image,
          rules.map((r) => rule(r).url),
        ),
        want,
      );
    });
  }

  // The property behind the choice: replay the kubelet's cache. An answer cached under the
  // registry for image X is handed, for a later image Y of the same registry, to the kubelet's
  // keyring, which re-matches its keys against Y. That must give exactly what the whole file
  // gives Y: no credentials of a non-matching key, none missing.
  test("a Registry-cached answer is right for every image of that registry", () => {
    const keySets: readonly string[][] = [
      ["reg.io"],
      ["reg.io", "reg.io/team"],
      ["*.io", "reg.io:5000"],
      ["https://index.docker.io/v1/", "docker.io"],
      ["https://index.docker.io/v1/"],
      ["*.reg.io", "a.reg.io/x", "b.reg.io"],
      ["reg.io/v2/team", "http://reg.io/"],
      ["localhost", "https://index.docker.io/v1/"],
    ];
    const images = [
      "reg.io/team/app",
      "reg.io/other/app",
      "reg.io:5000/team/app",
      "a.reg.io/x/y",
      "a.reg.io/z",
      "b.reg.io/x",
      "docker.io/library/nginx",
      "docker.io/team/app",
      "localhost/app",
      "localhost/team/app",
      "busybox",
      "reg.io",
    ];
    const registryOf = (image: string): string => image.split("/")[0] ?? "";
    let registryAnswers = 0;
    for (const keys of keySets) {
      const file = buildKeyring(keys.map((k, i) => cred(k, `u${String(i)}`)));
      for (const x of images) {
        const answer = answerFor(file, x, FIVE_MIN);
        if (answer.cacheKeyType !== "Registry" || answer.auth.length === 0) continue;
        registryAnswers++;
        const cached = buildKeyring(answer.auth);
        for (const y of images.filter((i) => registryOf(i) === registryOf(x))) {
          assert.deepEqual(
            lookup(cached, y).credentials.map((c) => c.username),
            lookup(file, y).credentials.map((c) => c.username),
            `keys ${JSON.stringify(keys)}: answer for ${x} reused for ${y}`,
          );
        }
      }
    }
    assert.ok(registryAnswers > 5, "the property was exercised");
  });

  // The same replay under live rules: a Registry answer for X reused for Y must be what the
  // provider itself answers Y, which is nothing when Y is outside the rules. (The kubelet asks
  // its cache only for images inside its own matchImages, the envelope; every image here is.)
  test("a Registry-cached answer is right for every image of that registry, under live rules", () => {
    const policies: readonly [string[], string[]][] = [
      [["reg.io"], ["reg.io/team"]],
      [["reg.io"], ["reg.io", "reg.io/team"]],
      [["*.io"], ["*.io/team", "other.io"]],
      [
        ["reg.io", "other.io"],
        ["reg.io", "other.io/team"],
      ],
      [["https://index.docker.io/v1/"], ["docker.io/library"]],
      [
        ["https://index.docker.io/v1/", "reg.io"],
        ["docker.io", "reg.io"],
      ],
      [["*.reg.io"], ["a.reg.io/x", "b.reg.io"]],
    ];
    const images = [
      "reg.io/team/app",
      "reg.io/other/app",
      "reg.io/app",
      "other.io/team/app",
      "other.io/x",
      "a.reg.io/x/y",
      "a.reg.io/z",
      "b.reg.io/x",
      "docker.io/library/nginx",
      "docker.io/team/app",
    ];
    const registryOf = (image: string): string => image.split("/")[0] ?? "";
    let registryAnswers = 0;
    for (const [keys, patterns] of policies) {
      const file = buildKeyring(keys.map((k, i) => cred(k, `u${String(i)}`)));
      const rules = patterns.map(rule);
      const urls = rules.map((r) => r.url);
      const provider = (image: string): readonly Credential[] =>
        matchingRule(rules, image) === undefined ? [] : answerFor(file, image, FIVE_MIN, urls).auth;
      for (const x of images) {
        if (matchingRule(rules, x) === undefined) continue;
        const answer = answerFor(file, x, FIVE_MIN, urls);
        if (answer.cacheKeyType !== "Registry" || answer.auth.length === 0) continue;
        registryAnswers++;
        const cached = buildKeyring(answer.auth);
        for (const y of images.filter((i) => registryOf(i) === registryOf(x))) {
          assert.deepEqual(
            lookup(cached, y).credentials.map((c) => c.username),
            provider(y).map((c) => c.username),
            `keys ${JSON.stringify(keys)}, rules ${JSON.stringify(patterns)}: answer for ${x} reused for ${y}`,
          );
        }
      }
    }
    assert.ok(registryAnswers >= 3, "the property was exercised");
  });
});

// What --cache-duration accepts and what cacheDuration then says. Every non-negative Go duration is
// accepted, because the installer passes the ConfigMap's defaultCacheDuration on unchanged and
// validates it only as the kubelet does (full int64 range); a stricter provider would fail every call.
describe("--cache-duration", () => {
  const cases: readonly [string, string | undefined][] = [
    ["5m", "5m0s"],
    ["300s", "5m0s"],
    ["1h30m", "1h30m0s"],
    ["1.5h", "1h30m0s"],
    ["0", "0s"],
    ["-0s", "0s"],
    ["1500ms", "1.5s"],
    ["2us", "2\u00b5s"],
    ["500ns", "500ns"],
    ["3000h", "3000h0m0s"], // past 2^53 ns: a double would no longer be exact
    ["9223372036854775807ns", "2562047h47m16.854775807s"],
    ["9223372036854775808ns", undefined],
    ["-5m", undefined],
    ["-1ns", undefined],
    ["5", undefined],
    ["", undefined],
    ["5 m", undefined],
    ["constructor", undefined],
  ];
  for (const [input, want] of cases) {
    test(JSON.stringify(input), () => {
      const r = parseArgs(["--credentials", "/c.json", `--cache-duration=${input}`]);
      const got =
        r.ok && r.command.kind === "provide"
          ? answerFor(buildKeyring([cred("reg.io", "u")]), "reg.io/x", r.command.cacheDurationNs)
              .cacheDuration
          : undefined;
      assert.equal(got, want);
    });
  }
});
