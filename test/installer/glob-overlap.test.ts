/**
 * Whether two of the kubelet's patterns can match one string (installer/core/settings/glob-overlap.ts):
 * Go filepath.Match globs, namespace patterns over valid namespace names, registry keys over
 * images. Named cases for every rule, each answer checked against brute force (every string up
 * to a length, matched with the provider's own goFilepathMatch and urlsMatchStr), and the work
 * held to its bounds for 7,000-key Secrets and for hostile ones.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  firstKeyOverlap,
  globsOverlap,
  indexRegistryKeys,
  namespacePatternProblem,
  namespacePatternsOverlap,
  registryKeysOverlap,
  Work,
  WorkExceeded,
} from "../../installer/core/settings/glob-overlap.ts";
import { goFilepathMatch } from "../../provider/core/glob.ts";
import { isNamespaceName } from "../../provider/core/scopes.ts";

/** Every string over `alphabet` of at most `max` characters. */
function strings(alphabet: readonly string[], max: number): string[] {
  const out = [""];
  let layer = [""];
  for (let n = 1; n <= max; n++) {
    layer = layer.flatMap((s) => alphabet.map((c) => s + c));
    out.push(...layer);
  }
  return out;
}

/** A small deterministic generator (mulberry32), so a failure names a reproducible case. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomGlob(next: () => number, tokens: readonly string[], max: number): string {
  const n = 1 + Math.floor(next() * max);
  let out = "";
  for (let i = 0; i < n; i++) out += tokens[Math.floor(next() * tokens.length)] ?? "";
  return out;
}

const matches = (glob: string, s: string): boolean => goFilepathMatch(glob, s) === "match";

describe("globsOverlap: two filepath.Match globs, one string", () => {
  const cases: [a: string, b: string, overlap: boolean][] = [
    ["abc", "abc", true],
    ["abc", "abd", false],
    ["a*", "*b", true], // "ab"
    ["a*", "b*", false],
    ["*", "", true], // "" matches both
    ["?", "", false],
    ["a?c", "abc", true],
    ["a*b*c", "*c", true],
    ["*a*", "*b*", true], // "ab"
    ["[a-c]x", "[^b]x", true], // "ax"
    ["[b]x", "[^b]x", false],
    ["[a-cx-z]", "[d-w]", false],
    ["[a-cx-z]", "[c-d]", true],
    ["[\\]]", "]", true], // an escaped "]" in a class
    ["\\*", "*", true], // "*" matches the literal "*"
    ["\\*", "a", false],
    ["[*]", "a", false], // a "*" inside a class is a rune, not a star
    ["a/*", "a/b", true],
    ["*", "a/b", false], // a star never crosses "/"
    ["?", "/", false],
    ["[^a]", "/", true], // a class may match "/" (Go's matchChunk does not check it)
    ["[", "a", false], // malformed: matches nothing
    ["a[", "*", false],
    ["[]a]", "*", false],
    ["[-a]", "*", false],
    ["a\\", "*", false],
    ["héllo", "h?llo", true], // "?" reads one rune, not one byte
    ["h[à-ë]llo", "héllo", true],
    ["**", "*", true],
  ];
  for (const [a, b, want] of cases) {
    it(`${JSON.stringify(a)} ~ ${JSON.stringify(b)}: ${String(want)}`, () => {
      assert.equal(globsOverlap(a, b), want);
      assert.equal(globsOverlap(b, a), want, "symmetric");
    });
  }

  it("agrees with brute force on random globs (every string up to 5 characters)", () => {
    const alphabet = ["a", "b", "-", "/", "*"];
    const all = strings(alphabet, 5);
    const tokens = ["a", "b", "-", "/", "*", "?", "[ab]", "[^a]", "[a-b]", "\\*", "[\\-]"];
    const next = random(13);
    let overlapping = 0;
    for (let k = 0; k < 600; k++) {
      const a = randomGlob(next, tokens, 3);
      const b = randomGlob(next, tokens, 3);
      const brute = all.some((s) => matches(a, s) && matches(b, s));
      // Three tokens each: a common string, if any, has at most 6 runes; 5 covers all but stars
      // reading runes neither side names, which the alphabet has.
      assert.equal(globsOverlap(a, b), brute, `${JSON.stringify(a)} ~ ${JSON.stringify(b)}`);
      if (brute) overlapping++;
    }
    assert.ok(overlapping > 100 && overlapping < 500, `a useful mix: ${String(overlapping)}`);
  });

  it("costs (n+1)×(m+1) table cells: two 1,000-token globs within a 1.1M budget", () => {
    const a = "a*".repeat(500);
    const b = "*a".repeat(500);
    const work = new Work(1_100_000);
    assert.equal(globsOverlap(a, b, work), true);
    assert.ok(work.used <= 1_100_000);
    assert.throws(() => globsOverlap(a, b, new Work(100_000)), WorkExceeded);
  });
});

describe("namespacePatternProblem: can a pattern match a valid namespace name?", () => {
  const cases: [pattern: string, problem: RegExp | null][] = [
    ["*", null],
    ["team-a", null],
    ["team-a-*", null],
    ["team-?", null],
    ["t[a-z]am", null],
    ["*-*", null], // "a-a"
    ["[^a]", null], // "b"
    ["a".repeat(63), null],
    [`*${"a".repeat(62)}`, null],
    [`*-${"a".repeat(61)}`, null], // "a-aaa…": 63
    ["", /^it is empty/],
    ["Team-a", /^"T" never appears in a namespace name .*lowercase/],
    ["team_a", /^"_" never appears/],
    ["team.a", /^"\." never appears/],
    ["[A-Z]x", /^a class in it admits none of a-z, 0-9 and "-"/],
    ["[.]x", /^a class in it admits none/],
    ["-a", /^it always starts with "-"/],
    ["a-", /^it always ends with "-"/],
    ["[\\-]", /^it always starts with "-"/],
    ["*-", /^it always ends with "-"/],
    ["a".repeat(64), /^it matches only names of 64 characters or more; .* at most 63$/],
    [`*-${"a".repeat(62)}`, /^it matches only names of 64 characters/],
    [`${"?".repeat(62)}*-`, /^it always ends with "-"/],
    ["[", /^it is not a well-formed glob/],
    ["a[b", /^it is not a well-formed glob/],
    ["[-a]", /^it is not a well-formed glob/],
    ["a\\", /^it is not a well-formed glob/],
  ];
  for (const [pattern, want] of cases) {
    it(`${JSON.stringify(pattern.length > 30 ? `${pattern.slice(0, 30)}…` : pattern)}: ${want === null ? "can match" : "cannot"}`, () => {
      const got = namespacePatternProblem(pattern);
      if (want === null) assert.equal(got, null);
      else assert.match(got ?? "(none)", want);
    });
  }

  it("agrees with brute force: null exactly when some valid name up to 5 characters matches", () => {
    const names = strings(["a", "0", "-"], 5).filter(isNamespaceName);
    const tokens = ["a", "0", "-", "A", "_", "*", "?", "[a-z]", "[\\-]", "[^a]", "[A-Z]"];
    const next = random(7);
    for (let k = 0; k < 800; k++) {
      const p = randomGlob(next, tokens, 3);
      const brute = names.some((n) => matches(p, n));
      assert.equal(namespacePatternProblem(p) === null, brute, JSON.stringify(p));
    }
  });
});

describe("namespacePatternsOverlap: one valid namespace both match", () => {
  const cases: [a: string, b: string, overlap: boolean][] = [
    ["team-a", "team-a", true],
    ["team-a", "team-b", false],
    ["team-a", "team-*", true],
    ["team-*", "*-a", true],
    ["*", "*", true],
    ["*", "kube-system", true],
    ["a*", "b*", false],
    ["team-?", "team-ab", false],
    // A common string exists ("-x") but it starts with "-": no namespace has that name.
    ["[\\-a]x", "[\\-b]x", false],
    ["[\\-a]x", "[\\-a]x", true],
    // Over namespace characters only: "aB" matches both globs but is no namespace.
    ["a*", "*[B-Z]", false],
    ["a*", "*[a-z]", true],
  ];
  for (const [a, b, want] of cases) {
    it(`${a} ~ ${b}: ${String(want)}`, () => {
      assert.equal(namespacePatternsOverlap(a, b), want);
      assert.equal(namespacePatternsOverlap(b, a), want, "symmetric");
    });
  }

  it("agrees with brute force on random patterns (every valid name up to 5 characters)", () => {
    const names = strings(["a", "b", "-"], 5).filter(isNamespaceName);
    const tokens = ["a", "b", "-", "*", "?", "[ab]", "[\\-a]", "[^a]"];
    const next = random(21);
    for (let k = 0; k < 600; k++) {
      const a = randomGlob(next, tokens, 3);
      const b = randomGlob(next, tokens, 3);
      const brute = names.some((n) => matches(a, n) && matches(b, n));
      assert.equal(namespacePatternsOverlap(a, b), brute, `${a} ~ ${b}`);
    }
  });
});

describe("registryKeysOverlap: one image both keys match (the kubelet's URLsMatch)", () => {
  const cases: [a: string, b: string, overlap: boolean][] = [
    ["reg.example.test", "reg.example.test", true],
    ["reg.example.test", "other.example.test", false],
    ["reg.example.test", "*.example.test", true],
    ["*.example.test", "reg.*.test", true],
    ["*.gcr.io", "*.ecr.io", false],
    ["a.b.c", "*.*", false], // segment counts differ
    ["reg.example.test:5000", "reg.example.test", false], // no port is not any port
    ["reg.example.test:5000", "*.example.test:5000", true],
    ["reg.example.test:5000", "reg.example.test:05000", false], // ports compare as strings
    ["reg.example.test/team", "reg.example.test", true], // one path a prefix of the other
    ["reg.example.test/team", "reg.example.test/team/app", true],
    ["reg.example.test/a", "reg.example.test/b", false],
    ["*.example.test/a", "reg.example.test/b", false],
    ["https://reg.example.test/v2/", "reg.example.test", true], // normalizeKey: scheme and /v2/
    ["http://reg.example.test/v1/team", "reg.example.test/team", true],
    ["[a].example.test", "[b].example.test", false],
    ["a*.example.test", "*b.example.test", true],
    ["[.]x.test", "*.test", false], // a segment never holds a dot
    ["[.", "[.", false], // malformed glob segment: matches nothing
    ["[::1]:5000", "[::1]:5000", true],
    // The Docker Hub fallback of index.docker.io: docker.io and one-segment hosts without a port.
    ["https://index.docker.io/v1/", "index.docker.io", true],
    ["https://index.docker.io/v1/", "docker.io", true],
    ["index.docker.io", "docker.io/library", true],
    ["index.docker.io", "localhost", true],
    ["index.docker.io", "*", true],
    ["index.docker.io", "localhost:5000", false],
    ["index.docker.io", "quay.io", false],
    ["index.docker.io/team", "docker.io", false], // only the host-only key has the fallback
  ];
  for (const [a, b, want] of cases) {
    it(`${a} ~ ${b}: ${String(want)}`, () => {
      assert.equal(registryKeysOverlap(a, b), want);
      assert.equal(registryKeysOverlap(b, a), want, "symmetric");
    });
  }

  it("firstKeyOverlap names the keys as written, and the Docker Hub fallback as such", () => {
    const hub = indexRegistryKeys(["https://index.docker.io/v1/", "quay.io"]);
    const other = indexRegistryKeys(["ghcr.io", "docker.io"]);
    assert.deepEqual(firstKeyOverlap(hub, other), {
      a: { key: "https://index.docker.io/v1/", hub: true },
      b: { key: "docker.io", hub: false },
    });
    assert.deepEqual(firstKeyOverlap(other, hub), {
      a: { key: "docker.io", hub: false },
      b: { key: "https://index.docker.io/v1/", hub: true },
    });
  });

  it("a 7,000-key Secret against another set's keys: lookups, not pairs", () => {
    const big = Array.from({ length: 7000 }, (_, i) => `r${String(i)}.example.test`);
    const small = ["other.example.test", "*.other.test", "r6999.example.test/team"];
    const work = new Work(Number.POSITIVE_INFINITY);
    const a = indexRegistryKeys(big, work);
    const b = indexRegistryKeys(small, work);
    const before = work.used;
    assert.deepEqual(firstKeyOverlap(a, b, work), {
      a: { key: "r6999.example.test", hub: false },
      b: { key: "r6999.example.test/team", hub: false },
    });
    assert.ok(work.used - before < 1000, `${String(work.used - before)} steps`);
    // Two big disjoint Secrets: still linear.
    const other = indexRegistryKeys(
      Array.from({ length: 7000 }, (_, i) => `s${String(i)}.example.test`),
      work,
    );
    const start = work.used;
    assert.equal(firstKeyOverlap(a, other, work), null);
    assert.ok(work.used - start < 50_000, `${String(work.used - start)} steps`);
  });

  it("a glob key is compared only with keys of its shape sharing its literal segments", () => {
    const big = Array.from(
      { length: 7000 },
      (_, i) => `r${String(i)}.example${String(i % 7)}.test`,
    );
    const work = new Work(Number.POSITIVE_INFINITY);
    const a = indexRegistryKeys(big, work);
    const start = work.used;
    assert.equal(firstKeyOverlap(a, indexRegistryKeys(["*.example9.test"], work), work), null);
    assert.ok(work.used - start < 100, `${String(work.used - start)} steps`);
    assert.notEqual(firstKeyOverlap(a, indexRegistryKeys(["*.example3.test"]), work), null);
  });

  it("hostile glob keys stop at the budget", () => {
    const globs = (c: string): string[] =>
      Array.from({ length: 2000 }, (_, i) => `${c}${String(i)}*.test`);
    const work = new Work(1_000_000);
    const t = performance.now();
    assert.throws(
      () =>
        firstKeyOverlap(
          indexRegistryKeys(globs("a"), work),
          indexRegistryKeys(globs("b"), work),
          work,
        ),
      WorkExceeded,
    );
    assert.ok(performance.now() - t < 2000);
  });
});
