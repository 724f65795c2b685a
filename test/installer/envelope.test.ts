/**
 * The envelope (installer/core/kubelet/envelope.ts): the fixed patterns the kubelet registers for nodecred
 * in `matching: live`. The property that makes live matching safe: whenever the kubelet's own
 * URLsMatchStr would match a live pattern to an image, some envelope pattern matches that image,
 * so the kubelet execs nodecred and the provider decides. Held against named tables, the Go
 * oracle's URLsMatch answers, and a seeded sweep; isCovered is held to the same rule.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  coveredBy,
  envelopeFor,
  envelopePatterns,
  envelopeSize,
  isCovered,
  minEnvelopeSegments,
  type Envelope,
} from "../../installer/core/kubelet/envelope.ts";
import { parseMatchPattern, urlsMatchStr } from "../../provider/core/url-match.ts";
import { repoRoot } from "./golden.ts";

const matchedBy = (patterns: readonly string[], image: string): string[] =>
  patterns.filter((p) => urlsMatchStr(p, image));

describe("envelopeFor", () => {
  const table: [name: string, matchImages: string[], want: Envelope][] = [
    ["no patterns: the minimum", [], { ports: [""], segments: 7 }],
    ["one host, no port", ["registry.example.com"], { ports: [""], segments: 7 }],
    ["1 segment: localhost", ["localhost"], { ports: [""], segments: 7 }],
    ["localhost with a port", ["localhost:5000"], { ports: ["", "5000"], segments: 7 }],
    ["Docker Hub: docker.io/library/x", ["docker.io/library/x"], { ports: [""], segments: 7 }],
    ["IPv4 host: 4 segments", ["10.0.0.1:5000/team"], { ports: ["", "5000"], segments: 7 }],
    ["[::1]:5000: 1 segment", ["[::1]:5000"], { ports: ["", "5000"], segments: 7 }],
    [
      "the same port twice: once",
      ["a.example.com:5000", "*.b.example.com:5000/x"],
      { ports: ["", "5000"], segments: 7 },
    ],
    [
      "several ports: in numeric order, no port first",
      ["a.io:8443", "b.io:5000", "c.io:443", "d.io:10000"],
      { ports: ["", "443", "5000", "8443", "10000"], segments: 7 },
    ],
    [
      "05000 is another port than 5000 (compared as strings)",
      ["a.io:05000", "b.io:5000"],
      { ports: ["", "5000", "05000"], segments: 7 },
    ],
    [
      "7 segments (ECR in China): still the minimum",
      ["*.dkr.ecr.cn-north-1.amazonaws.com.cn"],
      { ports: [""], segments: 7 },
    ],
    ["8 segments: grows to 8", ["a.b.c.d.e.f.g.h"], { ports: [""], segments: 8 }],
    [
      "10 segments with a port: 10, for every port",
      ["a.io", "a.b.c.d.e.f.g.h.i.j:8443/deep"],
      { ports: ["", "8443"], segments: 10 },
    ],
    ["an invalid pattern is skipped", ["%zz", "reg.io:5000"], { ports: ["", "5000"], segments: 7 }],
  ];
  for (const [name, matchImages, want] of table) {
    it(name, () => {
      assert.deepEqual(envelopeFor(matchImages), want);
    });
  }
});

describe("envelopePatterns", () => {
  const table: [name: string, envelope: Envelope, want: string[]][] = [
    ["1 segment", { ports: [""], segments: 1 }, ["*"]],
    ["3 segments", { ports: [""], segments: 3 }, ["*", "*.*", "*.*.*"]],
    ["a ladder per port", { ports: ["", "5000"], segments: 2 }, ["*", "*.*", "*:5000", "*.*:5000"]],
    ["a port as written", { ports: ["05000"], segments: 1 }, ["*:05000"]],
  ];
  for (const [name, envelope, want] of table) {
    it(name, () => {
      assert.deepEqual(envelopePatterns(envelope), want);
    });
  }
  it("the default envelope: 7 patterns per port, 1 to 7 segments", () => {
    const p = envelopePatterns(envelopeFor(["reg.io", "reg.io:5000"]));
    assert.equal(p.length, 2 * minEnvelopeSegments);
    assert.equal(p[6], "*.*.*.*.*.*.*");
    assert.equal(p[13], "*.*.*.*.*.*.*:5000");
  });
  it("every envelope pattern is a valid kubelet matchImages pattern that can match", () => {
    for (const p of envelopePatterns({ ports: ["", "443", "05000"], segments: 12 })) {
      const r = parseMatchPattern(p);
      assert.ok(r.ok, p);
      assert.deepEqual(r.warnings, [], p);
    }
  });
});

describe("which envelope pattern the kubelet matches an image with", () => {
  const envelope = envelopePatterns(envelopeFor(["reg.io:5000", "reg.io:05000"]));
  const table: [name: string, image: string, want: string[]][] = [
    ["localhost: 1 segment", "localhost/app", ["*"]],
    ["Docker Hub, as the kubelet normalises it: 2 segments", "docker.io/library/x", ["*.*"]],
    ["IPv4 host: 4 segments", "10.0.0.1/app", ["*.*.*.*"]],
    ["IPv4 host with a port", "10.0.0.1:5000/app", ["*.*.*.*:5000"]],
    ["[::1]:5000: 1 segment", "[::1]:5000/app", ["*:5000"]],
    ["port 05000 only by its own ladder", "reg.io:05000/app", ["*.*:05000"]],
    ["a port outside the envelope: none", "reg.io:8443/app", []],
    ["7 segments", "a.dkr.ecr.cn-north-1.amazonaws.com.cn/r", ["*.*.*.*.*.*.*"]],
    ["8 segments: none in the minimum envelope", "a.b.c.d.e.f.g.h/x", []],
  ];
  for (const [name, image, want] of table) {
    it(name, () => {
      assert.deepEqual(matchedBy(envelope, image), want);
    });
  }
});

describe("a host of k segments is matched by exactly one envelope pattern", () => {
  for (let k = 1; k <= 12; k++) {
    for (const port of ["", "5000", "05000"]) {
      const host = Array.from({ length: k }, (_, i) => `s${String(i)}`).join(".");
      const image = `${host}${port === "" ? "" : `:${port}`}/team/app`;
      it(`${String(k)} segment(s)${port === "" ? "" : `, port ${port}`}`, () => {
        const envelope = envelopePatterns(envelopeFor([image]));
        assert.equal(matchedBy(envelope, image).length, 1, image);
        // Bad beside good: the default envelope stops at 7 segments and at its ports.
        const plain = envelopePatterns(envelopeFor([]));
        assert.equal(matchedBy(plain, image).length, k <= 7 && port === "" ? 1 : 0, image);
      });
    }
  }
});

// The key property, on named pairs: if the kubelet matches pattern → image, the envelope built
// from the pattern matches the image too. Images are what the kubelet sends (normalised, no tag).
const patterns = [
  "registry.example.com",
  "*.registry.example.com",
  "registry.example.com/team",
  "registry.example.com/team/app",
  "*.*.example.com:5000/x",
  "reg.io:05000",
  "reg.io:5000",
  "reg.io:",
  "localhost",
  "localhost:5000",
  "10.0.0.1:5000",
  "10.0.0.*",
  "[::1]:5000",
  "[::1]",
  "docker.io",
  "docker.io/library/x",
  "*.docker.io",
  "*.dkr.ecr.cn-north-1.amazonaws.com.cn",
  "*.dkr.ecr.*.amazonaws.com",
  "a.b.c.d.e.f.g.h",
  "a.b.c.d.e.f.g.h:8443/deep",
  "*",
  "*:5000",
  "*.*",
  "reg?.io",
  "?.io",
  "r*y.io",
  "reg..io",
  "reg.io.",
  "REG.io",
];
const images = [
  "registry.example.com/team/app",
  "registry.example.com/teamx",
  "registry.example.com/other",
  "foo.registry.example.com/x",
  "a.b.example.com:5000/x/y",
  "a.b.example.com:5000/y",
  "reg.io:05000/app",
  "reg.io:5000/app",
  "reg.io/app",
  "localhost/app",
  "localhost:5000/app",
  "10.0.0.1:5000/app",
  "10.0.0.7/app",
  "[::1]:5000/app",
  "[::1]/app",
  "docker.io/library/x",
  "docker.io/library/xyz",
  "docker.io/team/app",
  "index.docker.io/library/x",
  "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/repo",
  "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo",
  "a.b.c.d.e.f.g.h/x",
  "a.b.c.d.e.f.g.h:8443/deep/er",
  "regx.io/y",
  "b.io/z",
  "registry.io/z",
  "reg..io/z",
  "reg.io./z",
  "REG.io/z",
  "app",
];

describe("kubelet match ⇒ envelope match: named pairs", () => {
  let matches = 0;
  for (const p of patterns) {
    for (const image of images) {
      if (!urlsMatchStr(p, image)) continue;
      matches += 1;
      it(`${p} → ${image}`, () => {
        assert.notDeepEqual(matchedBy(envelopePatterns(envelopeFor([p])), image), []);
        // The envelope of the whole list too (what a node actually registers).
        assert.notDeepEqual(matchedBy(envelopePatterns(envelopeFor(patterns)), image), []);
      });
    }
  }
  it("the table has enough matching pairs to mean something", () => {
    assert.ok(matches >= 40, String(matches));
  });
  it("and an image no envelope port covers is not matched (the kubelet would not ask us)", () => {
    assert.deepEqual(matchedBy(envelopePatterns(envelopeFor(["reg.io"])), "reg.io:5000/x"), []);
  });
});

describe("kubelet match ⇒ envelope match: the Go oracle's URLsMatch answers", () => {
  const answers = JSON.parse(
    readFileSync(join(repoRoot, "test/provider/oracle/kubelet-answers.json"), "utf8"),
  ) as { urlsMatch: [string, string, boolean][] };
  const matching = answers.urlsMatch.filter(([, , want]) => want);
  assert.ok(matching.length > 10);
  for (const [glob, target] of matching) {
    it(`${JSON.stringify(glob)} → ${JSON.stringify(target)}`, () => {
      assert.ok(urlsMatchStr(glob, target), "our matcher agrees with Go (oracle.test.ts)");
      assert.notDeepEqual(matchedBy(envelopePatterns(envelopeFor([glob])), target), []);
    });
  }
});

describe("kubelet match ⇒ envelope match: a seeded sweep", () => {
  // A fixed LCG: the same pairs on every run, so a failure is reproducible.
  let seed = 0x5eed;
  const next = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[next(xs.length)] as T;
  // Go's url.Parse refuses "[", "]" (outside an IPv6 literal) and "\\" in a host, and "?" ends
  // it (a query): `*` is the only glob a host segment can hold, "?" cuts the host short.
  const globSegments = ["a", "b", "ab", "*", "a*", "*b", "?", "a?", "", "*.*"];
  const literalSegments = ["a", "b", "ab", "ba", "abc", "", "x1", "A"];
  const ports = ["", "", "5000", "05000", "443"];
  const paths = ["", "", "/x", "/x/y", "/xy"];
  const host = (segments: readonly string[]): string =>
    Array.from({ length: 1 + next(10) }, () => pick(segments)).join(".");
  const url = (segments: readonly string[]): string => {
    const port = pick(ports);
    return `${host(segments)}${port === "" ? "" : `:${port}`}${pick(paths)}`;
  };
  it("20000 pairs, every kubelet match is an envelope match", () => {
    let matches = 0;
    for (let i = 0; i < 20000; i++) {
      const p = url(globSegments);
      // Half the images are made from the pattern itself, so that many pairs match.
      const image = next(2) === 0 ? p.replace(/[*?]/g, "a") : url(literalSegments);
      if (!urlsMatchStr(p, image)) continue;
      matches += 1;
      assert.notDeepEqual(
        matchedBy(envelopePatterns(envelopeFor([p])), image),
        [],
        `${p} → ${image}`,
      );
    }
    assert.ok(matches > 1000, String(matches));
  });
});

describe("isCovered", () => {
  const table: [name: string, inner: string, registered: string[], want: boolean][] = [
    ["a literal host by stars of the same count", "reg.io", ["*.*"], true],
    ["not by another segment count", "reg.io", ["*", "*.*.*"], false],
    ["a port only by that port", "reg.io:5000", ["*.*"], false],
    ["the same port", "reg.io:5000", ["*.*:5000"], true],
    ["05000 is not 5000", "reg.io:05000", ["*.*:5000"], false],
    ["a glob segment by *", "*.reg.io", ["*.*.*"], true],
    ["a glob segment by itself", "*.reg.io", ["*.reg.io"], true],
    ["a glob segment not by a narrower glob", "*.reg.io", ["[a-z]*.reg.io"], false],
    ["a glob segment not by another glob", "a*.reg.io", ["b*.reg.io"], false],
    ["? starts a query (url.Parse): re?.io is the one-segment host re", "re?.io", ["*"], true],
    ["a literal segment by a glob that matches it", "abc.reg.io", ["a*.reg.io"], true],
    ["not by a glob that does not match it", "xbc.reg.io", ["a*.reg.io"], false],
    ["a class cannot be in a host (url.Parse): left to its own check", "[a-c].io", [], true],
    ["nor an escape", "re\\g.io", [], true],
    ["a path under the registered path", "reg.io/team/app", ["reg.io/team"], true],
    ["a path prefix as the kubelet compares it (strings)", "reg.io/teamx", ["reg.io/team"], true],
    ["a shorter path is not covered", "reg.io/team", ["reg.io/team/app"], false],
    ["no path is not covered by a path", "reg.io", ["reg.io/team"], false],
    ["any of several", "reg.io:5000/x", ["*.*", "reg.io:5000"], true],
    ["an invalid registered entry covers nothing", "reg.io", ["%zz"], false],
    ["an invalid pattern is left to its own check", "%zz", [], true],
    ["IPv6 with a port: one segment", "[::1]:5000", ["*:5000"], true],
  ];
  for (const [name, inner, registered, want] of table) {
    it(name, () => {
      assert.equal(isCovered(inner, registered), want);
    });
  }
  it("every pattern is covered by its envelope (the built-in template passes its own check)", () => {
    for (const p of patterns) {
      assert.ok(isCovered(p, envelopePatterns(envelopeFor([p]))), p);
    }
  });
  it("is conservative: what it calls covered, the kubelet matches", () => {
    // For each covered (pattern, registered) pair from the table above, every image the pattern
    // matches is matched by a registered entry.
    for (const [, inner, registered, want] of table) {
      if (!want || !parseMatchPattern(inner).ok) continue;
      for (const image of images) {
        if (urlsMatchStr(inner, image)) {
          assert.notDeepEqual(matchedBy(registered, image), [], `${inner} → ${image}`);
        }
      }
    }
  });
});

describe("envelopeSize and coveredBy (the bounds' helpers)", () => {
  it("envelopeSize is the number of patterns registered", () => {
    for (const e of [
      envelopeFor([]),
      envelopeFor(["a.b:5000", "c:6000"]),
      envelopeFor([Array(12).fill("a").join(".")]),
    ]) {
      assert.equal(envelopeSize(e), envelopePatterns(e).length);
    }
  });
  it("coveredBy answers like a pairwise search, for many patterns against many", () => {
    const registered = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0 ? `r${String(i)}.example.test/team` : `*.example.test:${String(5000 + (i % 7))}`,
    );
    const cover = coveredBy(registered);
    const pairwise = (inner: string): boolean => registered.some((r) => isCovered(inner, [r]));
    for (let i = 0; i < 300; i++) {
      for (const inner of [
        `r${String(i)}.example.test/team/app`,
        `r${String(i)}.example.test`,
        `x${String(i)}.example.test:${String(5000 + (i % 9))}/a`,
      ]) {
        assert.equal(cover(inner), pairwise(inner), inner);
      }
    }
  });
});
