// The TypeScript port against the kubelet itself: oracle/kubelet-answers.json holds what
// k8s.io/kubernetes pkg/credentialprovider, of the release scripts/k8s pins (v1.34.4), and Go's
// net/url, path/filepath, encoding/base64 and time (go1.26, with that module's GODEBUG defaults,
// go1.24) answered for every input in oracle/cases.json. The Go harness in scripts/k8s/oracle
// records them (scripts/record-oracle, `npm run oracle:record`), and oracle-harness.test.ts checks
// that they still reproduce. To add a case, add its input to cases.json and record: the expected
// answer comes from the upstream function, never from our port.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { decodeAuthField, parseDockerConfig } from "../../provider/core/docker-config.ts";
import { formatGoDuration, parseGoDuration } from "../../provider/core/duration.ts";
import { goFilepathMatch } from "../../provider/core/glob.ts";
import { parseGoUrl } from "../../provider/core/go-url.ts";
import { buildKeyring, lookup, normalizeKey } from "../../provider/core/keyring.ts";
import { urlsMatchStr } from "../../provider/core/url-match.ts";
import { REPO_ROOT } from "./run-provider.ts";

const dir = join(REPO_ROOT, "test", "provider", "oracle");

interface Answers {
  urlsMatch: [string, string, boolean][];
  parse: { input: string; ok: boolean; host?: string; path?: string }[];
  keys: { input: string; ok: boolean; host?: string }[];
  auth: { input: string; ok: boolean; username?: string; password?: string }[];
  lookup: { name: string; images: Record<string, string[]>; error?: boolean }[];
  globs: [string, string, string][];
  durations: { input: string; ok: boolean; nanos?: string; string?: string; error?: string }[];
}

interface Cases {
  lookup: { name: string; config: unknown; images: string[] }[];
}

const answers = JSON.parse(readFileSync(join(dir, "kubelet-answers.json"), "utf8")) as Answers;
const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as Cases;

describe("URLsMatchStr agrees with the kubelet", () => {
  for (const [glob, target, want] of answers.urlsMatch) {
    test(`${JSON.stringify(glob)} vs ${JSON.stringify(target)} -> ${String(want)}`, () => {
      assert.equal(urlsMatchStr(glob, target), want);
    });
  }
});

describe('url.Parse("https://" + s) agrees with Go (ParseSchemelessURL)', () => {
  for (const want of answers.parse) {
    test(JSON.stringify(want.input), () => {
      const got = parseGoUrl("https://" + want.input);
      assert.equal(got.ok, want.ok, got.ok ? "parsed, Go failed" : `failed: ${got.error}`);
      if (got.ok) {
        assert.equal(got.url.host, want.host ?? "");
        assert.equal(got.url.path, want.path ?? "");
      }
    });
  }
});

describe("registry key normalisation agrees with BasicDockerKeyring.Add", () => {
  for (const want of answers.keys) {
    test(JSON.stringify(want.input), () => {
      assert.equal(normalizeKey(want.input), want.ok ? (want.host ?? "") : undefined);
    });
  }
});

describe("auth field decoding agrees with DockerConfigEntry.UnmarshalJSON", () => {
  for (const want of answers.auth) {
    test(JSON.stringify(want.input), () => {
      const got = decodeAuthField(want.input);
      assert.deepEqual(
        got.ok ? { ok: true, username: got.username, password: got.password } : { ok: false },
        want.ok
          ? { ok: true, username: want.username ?? "", password: want.password ?? "" }
          : { ok: false },
      );
    });
  }
});

describe("filepath.Match agrees with Go", () => {
  for (const [pattern, name, want] of answers.globs) {
    test(`${JSON.stringify(pattern)} vs ${JSON.stringify(name)} -> ${want}`, () => {
      assert.equal(goFilepathMatch(pattern, name), want);
    });
  }
});

// Full int64 range and Go's own messages: the installer validates defaultCacheDuration with this
// parser, and the provider accepts whatever it validated.
describe("durations agree with time.ParseDuration / Duration.String", () => {
  for (const want of answers.durations) {
    test(JSON.stringify(want.input), () => {
      const got = parseGoDuration(want.input);
      if (!want.ok) {
        assert.deepEqual(got, { ok: false, error: want.error });
      } else {
        assert.deepEqual(got, { ok: true, nanos: BigInt(want.nanos ?? "") });
        assert.equal(formatGoDuration(BigInt(want.nanos ?? "")), want.string);
      }
    });
  }
});

describe("BasicDockerKeyring.Lookup agrees with the kubelet", () => {
  for (const c of cases.lookup) {
    const want = answers.lookup.find((a) => a.name === c.name);
    test(c.name, () => {
      assert.ok(want);
      const parsed = parseDockerConfig(JSON.stringify(c.config));
      if (want.error === true) {
        assert.equal(parsed.ok, false);
        return;
      }
      let entries;
      if (parsed.ok) {
        entries = parsed.entries;
      } else {
        // We refuse keys the kubelet silently ignores; without them the lookups must agree.
        assert.ok(
          parsed.problems.every((p) => p.includes("not a valid URL")),
          parsed.problems.join("; "),
        );
        const auths = (c.config as { auths: Record<string, unknown> }).auths;
        const kept = Object.fromEntries(
          Object.entries(auths).filter(([k]) => normalizeKey(k) !== undefined),
        );
        const again = parseDockerConfig(JSON.stringify({ auths: kept }));
        assert.ok(again.ok);
        entries = again.entries;
      }
      const keyring = buildKeyring(entries);
      for (const image of c.images) {
        assert.deepEqual(
          lookup(keyring, image).credentials.map((e) => e.username),
          want.images[image],
          `image ${JSON.stringify(image)}`,
        );
      }
    });
  }
});
