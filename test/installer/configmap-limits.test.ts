/**
 * The ConfigMap's bounds (installer/core/settings/configmap.ts configMapLimits, match-image.ts): every one
 * refused with its path, with the bad case next to the good one at the bound; no message echoes
 * more than a bounded prefix of a huge value; a matchImages pattern the kubelet accepts and that
 * can match an image is never refused; provider names that the kubelet or the kernel refuse, or
 * that could be taken for nodecred's temp files, are refused.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  configMapLimits,
  maxProviderNameChars,
  parseSettings,
  providerNameProblems,
  settingsFromConfigMapText,
  tempMarker,
} from "../../installer/core/settings/configmap.ts";
import { nodecredPaths } from "../../installer/core/node/flavour.ts";
import {
  matchImageLimitError,
  maxMatchImageChars,
  shortestGlobMatch,
  utf8ByteLength,
} from "../../installer/core/settings/match-image.ts";
import { preview, type Problem, type Result } from "../../installer/core/problems.ts";
import { backupPathFor } from "../../installer/core/node/state.ts";
import { validateCredentialProviderConfig } from "../../installer/core/kubelet/validate-config.ts";
import { writeFileAtomic } from "../../installer/host/atomic-write.ts";
import { parseMatchPattern, urlsMatchStr } from "../../provider/core/url-match.ts";
import { repoRoot } from "./golden.ts";

const problemsOf = (r: Result<unknown>): readonly Problem[] => (r.ok ? [] : r.problems);
const paths = (r: Result<unknown>): string[] => problemsOf(r).map((p) => p.path);
const longestMessage = (r: Result<unknown>): number =>
  Math.max(0, ...problemsOf(r).map((p) => p.path.length + p.message.length));

const label = (c: string, n: number): string => c.repeat(n);

describe("data: 1 MiB in total, as the API server counts (UTF-8 bytes of the values)", () => {
  const limit = configMapLimits.dataBytes;
  // A valid ConfigMap padded with a template comment to exactly `bytes`.
  const padded = (bytes: number, pad = "x"): Record<string, string> => {
    const matchImages = "reg.example.test";
    const head = "{{!-- ";
    const tail = " --}}\n";
    const room = bytes - matchImages.length - head.length - tail.length;
    const body = pad.repeat(Math.floor(room / utf8ByteLength(pad)));
    return {
      matchImages,
      credentialProviderConfigTemplate: `${head}${body}${"x".repeat(room - utf8ByteLength(body))}${tail}`,
    };
  };
  const total = (d: Record<string, string>): number =>
    Object.values(d).reduce((n, v) => n + utf8ByteLength(v), 0);
  it("at 1 MiB: only the template bound speaks, not the data bound", () => {
    const d = padded(limit);
    assert.equal(total(d), limit);
    assert.deepEqual(paths(parseSettings(d)), ["data.credentialProviderConfigTemplate"]);
  });
  it("1 MiB + 1 byte: refused at data, and nothing else is looked at", () => {
    const d = { ...padded(limit + 1), typo: "x" };
    assert.equal(total(d), limit + 2);
    const r = parseSettings(d);
    assert.deepEqual(paths(r), ["data"]);
    assert.match(
      problemsOf(r)[0]?.message ?? "",
      /more than 1048576 bytes.*credentialProviderConfigTemplate/,
    );
  });
  it("counts bytes, not characters: 2-byte characters reach the bound at half the length", () => {
    const d = padded(limit + 2, "é");
    assert.ok(Object.values(d).reduce((n, v) => n + v.length, 0) < limit);
    assert.deepEqual(paths(parseSettings(d)), ["data"]);
  });
  it("a 1 MiB pattern gives a short message", () => {
    const r = parseSettings({ matchImages: "a".repeat(limit + 1) });
    assert.ok(longestMessage(r) < 300, JSON.stringify(problemsOf(r)));
  });
  it("a manifest file over 8 MiB is refused before it is parsed", () => {
    const text = `kind: ConfigMap\ndata:\n  matchImages: r.test\n#${"x".repeat(configMapLimits.manifestBytes)}\n`;
    const r = settingsFromConfigMapText(text);
    assert.deepEqual(paths(r), ["configmap"]);
    assert.ok(settingsFromConfigMapText("kind: ConfigMap\ndata:\n  matchImages: r.test\n").ok);
  });
});

describe("matchImages: at most 1,000 entries, and at most 1,000 registered patterns", () => {
  const hosts = (n: number): string =>
    Array.from({ length: n }, (_, i) => `reg-${String(i)}.example.test`).join("\n");
  it("1,000 accepted, 1,001 refused (comments and blank lines do not count)", () => {
    assert.ok(parseSettings({ matchImages: `# c\n\n${hosts(1000)}\n# c\n` }).ok);
    const r = parseSettings({ matchImages: hosts(1001) });
    assert.deepEqual(paths(r), ["data.matchImages"]);
    assert.match(problemsOf(r)[0]?.message ?? "", /^1001 patterns; at most 1000$/);
  });
  // Live: the kubelet registers (ports + 1) × 7 envelope patterns for one-to-seven-segment hosts.
  const withPorts = (n: number): string =>
    Array.from({ length: n }, (_, i) => `reg.example.test:${String(5000 + i)}`).join("\n");
  const table: [name: string, data: Record<string, string>, ok: boolean][] = [
    ["live, 141 ports: 142 × 7 = 994 registered", { matchImages: withPorts(141) }, true],
    ["live, 142 ports: 143 × 7 = 1001 registered", { matchImages: withPorts(142) }, false],
    [
      "kubelet, 142 ports: 142 registered",
      { matchImages: withPorts(142), matching: "kubelet" },
      true,
    ],
    [
      "live, a 127-segment host (253 characters) and 7 ports: 8 × 127 = 1016",
      { matchImages: `${Array(127).fill("a").join(".")}\n${withPorts(7)}` },
      false,
    ],
  ];
  for (const [name, data, ok] of table) {
    it(`${ok ? "accepts" : "refuses"} ${name}`, () => {
      const r = parseSettings(data);
      assert.equal(r.ok, ok, JSON.stringify(problemsOf(r)));
      if (!ok) assert.deepEqual(paths(r), ["data.matchImages"]);
    });
  }
});

describe("a matchImages pattern: refused only when it can never match (or is over 1,024 characters)", () => {
  const host253 = `${label("a", 63)}.${label("b", 63)}.${label("c", 63)}.${label("d", 61)}`;
  assert.equal(host253.length, 253);
  const table: [name: string, pattern: string, refused: RegExp | null][] = [
    ["a 63-character label", `${label("a", 63)}.example.test`, null],
    [
      "a 64-character label",
      `${label("a", 64)}.example.test`,
      /segment 1 .* is 64 characters long/,
    ],
    ["a glob label that can match 63 characters", `*${label("a", 63)}.test`, null],
    [
      "a glob label matching only 64 or more",
      `*${label("a", 64)}*.test`,
      /only matches labels of 64/,
    ],
    ["a 253-character host", host253, null],
    [
      "a 254-character host",
      `${label("a", 63)}.${label("b", 63)}.${label("c", 63)}.${label("d", 62)}`,
      /host names of 254 characters/,
    ],
    ["stars make a short host: *.*.*", "*.*.*", null],
    ["a 255-character repository path", `r.test/${label("p", 255)}`, null],
    ["a 256-character repository path", `r.test/${label("p", 256)}`, /path is 257 characters/],
    ["a path %-encoded to 3 times its length", `r.test/${"%61".repeat(255)}`, null],
    ["… decoding to 256 characters", `r.test/${"%61".repeat(256)}`, /after %-decoding/],
    [
      "1,024 characters whose query is dropped by url.Parse: can match",
      `r.test/p?${"q".repeat(maxMatchImageChars - 9)}`,
      null,
    ],
    [
      "1,025 characters: refused by the length bound alone",
      `r.test/p?${"q".repeat(maxMatchImageChars - 8)}`,
      /is longer than 1024 characters/,
    ],
    ["a port", "r.test:5000/p", null],
    ["an IPv6 literal with a port", "[::1]:5000/x", null],
  ];
  for (const [name, pattern, refused] of table) {
    it(`${refused === null ? "accepts" : "refuses"} ${name}`, () => {
      const err = matchImageLimitError(pattern);
      if (refused === null) assert.equal(err, null);
      else assert.match(err ?? "", refused);
      // Through the ConfigMap: the same answer, at the entry's path.
      const r = parseSettings({ matchImages: `ok.test\n${pattern}`, matching: "kubelet" });
      if (refused === null && parseMatchPattern(pattern).ok) assert.ok(r.ok, JSON.stringify(r));
      if (refused !== null) assert.deepEqual(paths(r), ["data.matchImages[1]"]);
    });
  }
  it("a refused pattern is quoted by a prefix and its length", () => {
    const err = matchImageLimitError(`${"a".repeat(70)}.test`) ?? "";
    assert.ok(err.includes(`"${"a".repeat(40)}"… (70 characters)`), err);
    assert.ok(!err.includes("a".repeat(41)));
  });
  it("shortestGlobMatch: *, ?, classes, escapes and multi-byte literals", () => {
    for (const [glob, n] of [
      ["abc", 3],
      ["a*c", 2],
      ["***", 0],
      ["a?c", 3],
      ["[a-z]x", 2],
      ["[^a]x", 2],
      ["\\*x", 2],
      ["é", 2],
      ["😀", 4],
    ] as const) {
      assert.equal(shortestGlobMatch(glob), n, glob);
    }
  });

  // The promise: no pattern the kubelet accepts AND can match is refused. Held against the Go
  // oracle's matching pairs, and against a seeded sweep of patterns near the bounds, each with an
  // image it matches whose host and path are within what a registry can serve.
  const imageWithinBounds = (image: string): boolean => {
    const slash = image.indexOf("/");
    const hostPort = slash === -1 ? image : image.slice(0, slash);
    const host = hostPort.replace(/:\d+$/, "");
    const path = slash === -1 ? "" : image.slice(slash);
    return host.length <= 253 && host.split(".").every((l) => l.length <= 63) && path.length <= 256;
  };
  it("every Go oracle URLsMatch pair that matches: the pattern is accepted", () => {
    const answers = JSON.parse(
      readFileSync(join(repoRoot, "test/provider/oracle/kubelet-answers.json"), "utf8"),
    ) as { urlsMatch: [string, string, boolean][] };
    const matching = answers.urlsMatch.filter(([, t, want]) => want && imageWithinBounds(t));
    assert.ok(matching.length > 10);
    for (const [glob] of matching) assert.equal(matchImageLimitError(glob), null, glob);
  });
  it("a seeded sweep near the bounds: whatever can match is accepted", () => {
    let seed = 0x11a1;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let matched = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const segments = Array.from({ length: 1 + next(5) }, () => {
        const len = [1, 20, 61, 62, 63, 64, 65][next(7)] ?? 1;
        const lit = "a".repeat(len);
        return [lit, `*${lit}`, `${lit.slice(1)}*`, "*"][next(4)] ?? lit;
      });
      const path = ["", `/${"p".repeat([1, 254, 255, 256][next(4)] ?? 1)}`][next(2)] ?? "";
      const pattern = `${segments.join(".")}${path}`;
      // The image: stars filled with nothing or with one character.
      const image = `${segments.map((s) => s.replace("*", next(2) === 0 ? "" : "b")).join(".")}${path}`;
      const err = matchImageLimitError(pattern);
      if (err !== null) refused++;
      if (!urlsMatchStr(pattern, image) || !imageWithinBounds(image)) continue;
      matched++;
      assert.equal(err, null, `${pattern} matches ${image}`);
    }
    assert.ok(
      matched > 300 && refused > 300,
      `${String(matched)} matched, ${String(refused)} refused`,
    );
  });
});

describe("bounded messages", () => {
  const huge = "x".repeat(1024 * 1024 - 100);
  const cases: [name: string, data: Record<string, unknown>, path: string][] = [
    ["matching", { matchImages: "r.test", matching: huge }, "data.matching"],
    [
      "defaultCacheDuration",
      { matchImages: "r.test", defaultCacheDuration: huge },
      "data.defaultCacheDuration",
    ],
    ["providerName", { matchImages: "r.test", providerName: huge }, "data.providerName"],
    ["an unknown key", { matchImages: "r.test", [huge.slice(0, 100_000)]: "v" }, ""],
  ];
  for (const [name, data, path] of cases) {
    it(`${name}: a value of ~1 MiB gives a message under 1 KiB`, () => {
      const r = parseSettings(data);
      assert.ok(!r.ok);
      if (path !== "") assert.deepEqual(paths(r), [path]);
      assert.ok(longestMessage(r) < 1024, String(longestMessage(r)));
    });
  }
  it("preview: the first 40 characters and the length", () => {
    assert.equal(preview("short"), '"short"');
    assert.equal(preview("y".repeat(41)), `"${"y".repeat(40)}"… (41 characters)`);
    // Never cuts a surrogate pair in half.
    assert.equal(preview(`${"y".repeat(39)}😀zz`), `"${"y".repeat(39)}😀"… (43 characters)`);
  });
});

describe("providerName: a file name nodecred and the kernel can both use", () => {
  const table: [name: string, value: string, refused: RegExp | null][] = [
    ["the default", "nodecred", null],
    ["a cloud provider's style", "ecr-credential-provider", null],
    ["dots inside", "nodecred.v2", null],
    ["non-ASCII", "nödecred", null],
    ["empty", "", /must not be empty/],
    [".", ".", /must not start with '\.'/],
    ["..", "..", /must not start with '\.'/],
    ["a hidden name, like our temp files", ".nodecred", /must not start with '\.'/],
    ["our temp files' mark inside", `x${tempMarker}1-ab`, /\.nodecred-tmp-/],
    ["a slash", "a/b", /must not contain '\/'/],
    ["a space (the kubelet's rule)", "a b", /whitespace/],
    ["a tab", "a\tb", /whitespace/],
    ["a newline", "a\nb", /whitespace/],
    ["NUL", "a\0b", /control characters/],
    ["another control character", "a\u0001b", /control characters/],
    ["a lone surrogate", "a\ud800b", /valid Unicode/],
    ["the longest ASCII name", "n".repeat(maxProviderNameChars), null],
    ["one character more", "n".repeat(maxProviderNameChars + 1), /Linux allows 255/],
    // Short in characters (114 UTF-16 units), long in bytes (228): the temp file's name is 259.
    ["a short name of 4-byte characters", "😀".repeat(57), /Linux allows 255/],
  ];
  for (const [name, value, refused] of table) {
    it(`${refused === null ? "accepts" : "refuses"} ${name}`, () => {
      const problems = providerNameProblems(value);
      if (refused === null) assert.deepEqual(problems, []);
      else
        assert.ok(
          problems.some((p) => refused.test(p)),
          JSON.stringify(problems),
        );
      // Through the ConfigMap (trimmed there, so only names without outer blanks agree).
      if (value.trim() === value) {
        assert.equal(
          parseSettings({ matchImages: "r.test", providerName: value }).ok,
          refused === null,
        );
      }
    });
  }
  it("a superset of the kubelet's rules: every name it refuses, we refuse", () => {
    for (const name of ["", ".", "..", "a/b", "a b", " a", "/", "a/"]) {
      const kubelet = validateCredentialProviderConfig({
        apiVersion: "kubelet.config.k8s.io/v1",
        kind: "CredentialProviderConfig",
        providers: [
          {
            name,
            matchImages: ["r.test"],
            defaultCacheDuration: "0s",
            apiVersion: "credentialprovider.kubelet.k8s.io/v1",
            args: [],
            env: [],
            tokenAttributes: null,
          },
        ],
      }).filter((p) => p.path.endsWith(".name") || p.path === "providers[0].name");
      assert.ok(kubelet.length > 0, `the kubelet accepts ${JSON.stringify(name)}?`);
      assert.notDeepEqual(providerNameProblems(name), [], JSON.stringify(name));
    }
  });
  it("the kernel takes every name nodecred derives from the longest accepted name", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nodecred-names-"));
    try {
      const name = "n".repeat(maxProviderNameChars);
      // The binary, through the real atomic write (its temp file next to it).
      assert.equal(await writeFileAtomic(join(dir, name), new Uint8Array([1]), 0o755), true);
      // The backup of a binary someone else left there, for the longest bin dir, and its temp
      // file with the longest PID (7 digits) and suffix.
      for (const binDir of ["/var/lib/rancher/credentialprovider/bin", nodecredPaths.ownedBinDir]) {
        const backup = backupPathFor(nodecredPaths.backupDir, `${binDir}/${name}`);
        const base = backup.slice(backup.lastIndexOf("/") + 1);
        const temp = `.${base}${tempMarker}4194304-deadbeef`;
        assert.ok(temp.length <= 255, `${binDir}: ${String(temp.length)}`);
        await writeFile(join(dir, temp), "x");
      }
      // And the kernel really refuses one byte more: the bound is the kernel's, not a guess.
      await assert.rejects(writeFile(join(dir, "n".repeat(256)), "x"), { code: "ENAMETOOLONG" });
      assert.ok((await readdir(dir)).includes(name));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
