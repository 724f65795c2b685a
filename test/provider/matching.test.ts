// Every matching and normalisation rule, as named tables. Cases marked "upstream" are ported from
// kubernetes/kubernetes pkg/credentialprovider/keyring_test.go (v1.34); the rest are ours. Each rule
// has a failing case beside the passing one.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { goFilepathMatch } from "../../provider/core/glob.ts";
import {
  buildKeyring,
  isDefaultRegistryMatch,
  lookup,
  normalizeKey,
  type Credential,
} from "../../provider/core/keyring.ts";
import { parseMatchPattern, urlsMatchStr } from "../../provider/core/url-match.ts";

interface MatchCase {
  readonly name: string;
  readonly glob: string;
  readonly target: string;
  readonly match: boolean;
}

const URLS_MATCH: readonly MatchCase[] = [
  // upstream TestURLsMatch
  {
    name: "upstream: no path, leading glob",
    glob: "*.kubernetes.io",
    target: "prefix.kubernetes.io",
    match: true,
  },
  {
    name: "upstream: no path, middle glob",
    glob: "prefix.*.io",
    target: "prefix.kubernetes.io",
    match: true,
  },
  {
    name: "upstream: no path, TLD glob",
    glob: "prefix.kubernetes.*",
    target: "prefix.kubernetes.io",
    match: true,
  },
  {
    name: "upstream: partial segment glob",
    glob: "*-good.kubernetes.io",
    target: "prefix-good.kubernetes.io",
    match: true,
  },
  {
    name: "upstream: with path",
    glob: "*.kubernetes.io/blah",
    target: "prefix.kubernetes.io/blah",
    match: true,
  },
  {
    name: "upstream: path prefix",
    glob: "prefix.*.io/foo",
    target: "prefix.kubernetes.io/foo/bar",
    match: true,
  },
  {
    name: "upstream: path and port",
    glob: "*.kubernetes.io:1111/blah",
    target: "prefix.kubernetes.io:1111/blah",
    match: true,
  },
  {
    name: "upstream: path prefix and port",
    glob: "prefix.*.io:1111/foo",
    target: "prefix.kubernetes.io:1111/foo/bar",
    match: true,
  },
  {
    name: "upstream: fewer target segments",
    glob: "*.kubernetes.io",
    target: "kubernetes.io",
    match: false,
  },
  {
    name: "upstream: more glob segments",
    glob: "*.*.kubernetes.io",
    target: "prefix.kubernetes.io",
    match: false,
  },
  {
    name: "upstream: two fewer target segments",
    glob: "*.*.kubernetes.io",
    target: "kubernetes.io",
    match: false,
  },
  {
    name: "upstream: * does not cross a dot",
    glob: "*kubernetes.io",
    target: "a.kubernetes.io",
    match: false,
  },
  {
    name: "upstream: * may match nothing",
    glob: "*kubernetes.io",
    target: "kubernetes.io",
    match: true,
  },
  {
    name: "upstream: three globs",
    glob: "*.*.*.kubernetes.io",
    target: "a.b.c.kubernetes.io",
    match: true,
  },
  { name: "upstream: TLD differs", glob: "kubernetes.io", target: "kubernetes.com", match: false },
  { name: "upstream: partial glob differs", glob: "k*.io", target: "quay.io", match: false },
  {
    name: "upstream: ports differ",
    glob: "*.kubernetes.io:1234/blah",
    target: "prefix.kubernetes.io:1111/blah",
    match: false,
  },
  {
    name: "upstream: glob without port vs target with port",
    glob: "prefix.*.io/foo",
    target: "prefix.kubernetes.io:1111/foo/bar",
    match: false,
  },
  // ports
  { name: "port: equal", glob: "reg.io:5000", target: "reg.io:5000/a", match: true },
  {
    name: "port: pattern without port never matches a port",
    glob: "reg.io",
    target: "reg.io:5000/a",
    match: false,
  },
  {
    name: "port: pattern port needs the image port",
    glob: "reg.io:5000",
    target: "reg.io/a",
    match: false,
  },
  {
    name: "port: compared as strings",
    glob: "reg.io:05000",
    target: "reg.io:5000/a",
    match: false,
  },
  { name: "port: an empty port is no port", glob: "reg.io:", target: "reg.io/a", match: true },
  {
    name: "port: never globbed (invalid port)",
    glob: "reg.io:*",
    target: "reg.io:5000/a",
    match: false,
  },
  // globs
  { name: "glob: * matches one segment", glob: "*.io", target: "k8s.io/a", match: true },
  { name: "glob: * never spans segments", glob: "*.io", target: "a.k8s.io/a", match: false },
  { name: "glob: single-label host", glob: "*", target: "localhost/a", match: true },
  { name: "glob: single * vs two labels", glob: "*", target: "reg.io/a", match: false },
  { name: "glob: case-sensitive", glob: "REG.io", target: "reg.io/a", match: false },
  {
    name: "glob: ? starts the URL query, so the host is cut",
    glob: "r?g.io",
    target: "reg.io/a",
    match: false,
  },
  {
    name: "glob: [class] is not a valid host for url.Parse",
    glob: "x.[a-c].io",
    target: "x.b.io/a",
    match: false,
  },
  {
    name: "glob: backslash is not valid in a host",
    glob: "\\*.io",
    target: "*.io/a",
    match: false,
  },
  // paths
  { name: "path: plain string prefix", glob: "reg.io/pong", target: "reg.io/pongz", match: true },
  { name: "path: longer pattern path", glob: "reg.io/pong/", target: "reg.io/pong", match: false },
  { name: "path: * is literal in paths", glob: "reg.io/*", target: "reg.io/a", match: false },
  {
    name: "path: percent-decoded before comparing",
    glob: "reg.io/a%2Fb",
    target: "reg.io/a/b",
    match: true,
  },
  { name: "path: case-sensitive", glob: "reg.io/a", target: "reg.io/A", match: false },
  {
    name: "path: query in the pattern is dropped",
    glob: "reg.io/a?b",
    target: "reg.io/a",
    match: true,
  },
  // Docker Hub
  { name: "hub: docker.io key", glob: "docker.io", target: "docker.io/library/nginx", match: true },
  {
    name: "hub: index.docker.io does not URL-match docker.io (fallback only)",
    glob: "index.docker.io",
    target: "docker.io/library/nginx",
    match: false,
  },
  // IPv6 and IPs
  { name: "ipv6: same address and port", glob: "[::1]:5000", target: "[::1]:5000/a", match: true },
  { name: "ipv6: other address", glob: "[::1]:5000", target: "[::2]:5000/a", match: false },
  { name: "ipv6: other port", glob: "[::1]:5000", target: "[::1]:5001/a", match: false },
  {
    name: "ipv6: without a port the brackets become a glob class",
    glob: "[::1]",
    target: "[::1]/a",
    match: false,
  },
  {
    name: "ipv6: zone",
    glob: "[fe80::1%25eth0]:5000",
    target: "[fe80::1%25eth0]:5000/a",
    match: true,
  },
  {
    name: "ipv6: IPv4 in brackets is rejected",
    glob: "[1.2.3.4]:5000",
    target: "[1.2.3.4]:5000/a",
    match: false,
  },
  { name: "ipv4: literal", glob: "127.0.0.1:5000", target: "127.0.0.1:5000/a", match: true },
  { name: "ipv4: glob octet", glob: "127.0.0.*:5000", target: "127.0.0.1:5000/a", match: true },
  // parse failures never match
  { name: "invalid: %invalid%", glob: "%invalid%", target: "reg.io/a", match: false },
  { name: "invalid: control character", glob: "reg.io\n", target: "reg.io/a", match: false },
  { name: "invalid: empty pattern", glob: "", target: "reg.io/a", match: false },
  {
    name: "scheme: kept in matchImages, so never matches",
    glob: "https://reg.io",
    target: "reg.io/a",
    match: false,
  },
  { name: "userinfo: ignored", glob: "user@reg.io", target: "reg.io/a", match: true },
  { name: "trailing dot: one more segment", glob: "reg.io.", target: "reg.io/a", match: false },
];

describe("URLsMatchStr", () => {
  for (const c of URLS_MATCH) {
    test(c.name, () => {
      assert.equal(urlsMatchStr(c.glob, c.target), c.match, `${c.glob} vs ${c.target}`);
    });
  }
});

describe("filepath.Match (host segments)", () => {
  const cases: readonly [string, string, string, ReturnType<typeof goFilepathMatch>][] = [
    ["star", "app*", "app1", "match"],
    ["star mismatch", "app*", "web", "no-match"],
    ["question mark", "a?c", "abc", "match"],
    ["question mark needs a rune", "a?c", "ac", "no-match"],
    ["class range", "[a-c]x", "bx", "match"],
    ["class range miss", "[a-c]x", "dx", "no-match"],
    ["negated class", "[^a-c]x", "dx", "match"],
    ["negated class miss", "[^a-c]x", "bx", "no-match"],
    ["escape", "a\\*b", "a*b", "match"],
    ["escape is literal", "a\\*b", "axb", "no-match"],
    ["unicode rune for ?", "a?b", "a\u263ab", "match"],
    ["bad pattern: unclosed class", "a[", "ab", "bad-pattern"],
    ["bad pattern: trailing backslash", "\\", "a", "bad-pattern"],
    // Go works on UTF-8 bytes: a * skips single bytes, so a chunk may start inside a character,
    // where ? and classes decode U+FFFD of width 1. (Answers from Go's filepath.Match, go1.26.)
    ["a * may stop inside a character: ?? takes two bytes of the three", "*??", "\u20ac", "match"],
    ["no byte offset helps three ?", "*???", "\u20ac", "no-match"],
    ["a class holding U+FFFD matches a stray byte", "*[\ufffd]", "x\u00e9", "match"],
    ["a literal compares whole bytes", "*\u00e9", "x\u00e9", "match"],
    ["a lone surrogate is U+FFFD, as after Go's JSON decoding", "\ud800", "\ufffd", "match"],
  ];
  for (const [name, pattern, value, want] of cases) {
    test(name, () => {
      assert.equal(goFilepathMatch(pattern, value), want);
    });
  }
});

describe("matchImages validation (parseMatchPattern)", () => {
  const cases: readonly [string, string, boolean, number][] = [
    ["upstream: registry.io/* is accepted", "registry.io/*", true, 0],
    ["upstream: %invalid% is rejected", "%invalid%", false, 0],
    ["glob host", "*.k8s.io", true, 0],
    ["invalid port", "reg.io:abc", false, 0],
    ["ipv6 with port", "[::1]:5000", true, 0],
    ["unclosed ipv6", "[::1", false, 0],
    ["space in host", "reg io", false, 0],
    ["scheme accepted but never matches", "https://reg.io", true, 1],
    ["malformed glob accepted but never matches", "reg.io:5000/\\", true, 0],
  ];
  for (const [name, pattern, ok, warnings] of cases) {
    test(name, () => {
      const got = parseMatchPattern(pattern);
      assert.equal(got.ok, ok);
      if (got.ok) assert.equal(got.warnings.length, warnings, got.warnings.join("; "));
      else assert.match(got.problem, /^match image is invalid: /);
    });
  }
});

describe("key normalisation (BasicDockerKeyring.Add)", () => {
  const cases: readonly [string, string, string | undefined][] = [
    ["bare host", "reg.io", "reg.io"],
    ["https scheme stripped", "https://reg.io", "reg.io"],
    ["http scheme stripped, / dropped", "http://reg.io/", "reg.io"],
    ["upstream: Docker Hub key", "https://index.docker.io/v1/", "index.docker.io"],
    ["/v2/ dropped", "index.docker.io/v2/", "index.docker.io"],
    ["/v2/ prefix kept as path", "reg.io/v2/team", "reg.io/team"],
    ["/v3/ is not special", "reg.io/v3/team", "reg.io/v3/team"],
    ["/v1 without slash is a path", "reg.io/v1", "reg.io/v1"],
    ["only one version prefix dropped", "reg.io/v1/v2/x", "reg.io/v2/x"],
    [
      'upper-case scheme is not a scheme (host "HTTPS:", path "//reg.io")',
      "HTTPS://reg.io",
      "HTTPS://reg.io",
    ],
    ["port kept", "https://reg.io:5000/v2/", "reg.io:5000"],
    ["userinfo dropped", "user:pw@reg.io", "reg.io"],
    ["query dropped", "reg.io?x=1", "reg.io"],
    ["path percent-decoded", "reg.io/a%2Fb", "reg.io/a/b"],
    ["invalid escape: ignored by the kubelet", "%zz", undefined],
    ["ipv6", "http://[::1]:5000/v1/team", "[::1]:5000/team"],
  ];
  for (const [name, key, want] of cases) {
    test(name, () => {
      assert.equal(normalizeKey(key), want);
    });
  }
});

describe("isDefaultRegistryMatch (upstream TestIsDefaultRegistryMatch + ours)", () => {
  const cases: readonly [string, boolean][] = [
    ["foo/bar", true],
    ["docker.io/foo/bar", true],
    ["index.docker.io/foo/bar", true],
    ["foo", true],
    ["", false],
    ["registry.tld/foo/bar", false],
    ["registry:5000/foo/bar", false],
    ["myhostdocker.io/foo/bar", false],
    ["localhost/foo", true],
    ["reg.io", true],
  ];
  for (const [image, want] of cases) {
    test(JSON.stringify(image), () => {
      assert.equal(isDefaultRegistryMatch(image), want);
    });
  }
});

function cred(key: string, username: string): Credential {
  return { key, username, password: `pw-${username}` };
}

function users(creds: readonly Credential[], image: string): string[] {
  return lookup(buildKeyring(creds), image).credentials.map((c) => c.username);
}

describe("keyring lookup", () => {
  test("upstream TestDockerKeyringLookup", () => {
    const creds = [cred("bar.example.com/pong", "grace"), cred("bar.example.com", "ada")];
    const table: readonly [string, string[]][] = [
      ["bar.example.com", ["ada"]], // direct match
      ["bar.example.com/pong", ["grace", "ada"]], // deeper match first
      ["bar.example.com/ping", ["ada"]], // deeper path ignored
      ["bar.example.com/pongz", ["grace", "ada"]], // first part of a path token
      ["bar.example.com/pong/pang", ["grace", "ada"]], // any sub-path
      ["example.com", []], // no host match
      ["foo.example.com", []],
    ];
    for (const [image, want] of table) assert.deepEqual(users(creds, image), want, image);
  });

  test("upstream TestIssue3797: scheme and /v1/ path match host-only images", () => {
    const creds = [cred("https://quay.io/v1/", "rex")];
    for (const image of ["quay.io", "quay.io/foo", "quay.io/foo/bar"]) {
      assert.deepEqual(users(creds, image), ["rex"], image);
    }
  });

  test("upstream TestKeyringHitWith*DockerHub / MissWithDockerHubCredentials", () => {
    const creds = [cred("https://index.docker.io/v1/", "foo")];
    assert.deepEqual(users(creds, "google/docker-registry"), ["foo"]);
    assert.deepEqual(users(creds, "jenkins"), ["foo"]);
    assert.deepEqual(users(creds, "index.docker.io/v1//google/docker-registry"), ["foo"]);
    assert.deepEqual(users(creds, "docker.io/library/nginx"), ["foo"]);
    assert.deepEqual(users(creds, "world.mesos.org/foo/bar"), []);
  });

  test("Docker Hub fallback only when nothing else matches", () => {
    const creds = [cred("https://index.docker.io/v1/", "hub"), cred("docker.io", "dockerio")];
    assert.deepEqual(users(creds, "docker.io/library/nginx"), ["dockerio"]);
    assert.deepEqual(users(creds, "index.docker.io/library/nginx"), ["hub"]);
    assert.deepEqual(users(creds, "localhost/app"), ["hub"], "kubelet quirk: no dot, no colon");
    assert.deepEqual(users(creds, "localhost:5000/app"), []);
  });

  test("reverse lexicographic order: paths and literals before wildcards", () => {
    const creds = [
      cred("*.reg.io", "wild"),
      cred("a.reg.io", "host"),
      cred("a.reg.io/team", "team"),
      cred("a.reg.io/team/sub", "sub"),
    ];
    assert.deepEqual(users(creds, "a.reg.io/team/sub/x"), ["sub", "team", "host", "wild"]);
    assert.deepEqual(users(creds, "b.reg.io/team/sub/x"), ["wild"]);
  });

  test("the order is Go's byte order, also past U+FFFF (where UTF-16 order differs)", () => {
    const keys = ["reg.io/\uffff", "reg.io/\u{1f600}", "reg.io/a", "reg.io/\u00e9"];
    // UTF-8: a < é (C3 A9) < U+FFFF (EF BF BF) < U+1F600 (F0 9F 98 80); the kubelet goes backwards.
    const want = ["reg.io/\u{1f600}", "reg.io/\uffff", "reg.io/\u00e9", "reg.io/a"];
    assert.deepEqual(buildKeyring(keys.map((k) => cred(k, k))).index, want);
    // Below U+D800 the engine's own order is the same.
    const plain = ["a.io", "b.io/x", "b.io", "\u00e9.io", "B.io"];
    assert.deepEqual(buildKeyring(plain.map((k) => cred(k, k))).index, [
      "\u00e9.io",
      "b.io/x",
      "b.io",
      "a.io",
      "B.io",
    ]);
  });

  test("keys that normalise alike are de-duplicated, credentials kept in file order", () => {
    const creds = [
      cred("https://reg.io/v2/", "one"),
      cred("reg.io", "two"),
      cred("http://reg.io/", "three"),
    ];
    const keyring = buildKeyring(creds);
    assert.deepEqual(keyring.index, ["reg.io"]);
    assert.deepEqual(users(creds, "reg.io/app"), ["one", "two", "three"]);
  });

  test("unparseable keys are skipped, like the kubelet", () => {
    assert.deepEqual(users([cred("%zz", "bad"), cred("reg.io", "good")], "reg.io/x"), ["good"]);
  });
});
