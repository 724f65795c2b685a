// One decoding of the Secret: the `.dockerconfigjson` bytes give the same answer whether they come
// from the file the kubelet writes into a mounted Secret volume (apply's init container) or from
// the object the API server returns, base64 in `data` (the sync container).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readSecret } from "../../installer/cli/inputs.ts";
import type { Result } from "../../installer/core/problems.ts";
import {
  credentialsFromDockerConfigJson,
  credentialsFromSecret,
  maxSecretBytes,
} from "../../installer/core/settings/secret.ts";
import { tempDir } from "../temp-dir.ts";

/** A Secret volume as the kubelet writes it: the key a symlink into ..data, a timestamped dir. */
function secretVolume(bytes: Uint8Array | { sparse: number }): string {
  const dir = tempDir("nodecred-secret-volume-");
  const stamp = "..2026_11_23_01_02_03.000000001";
  mkdirSync(join(dir, stamp));
  const file = join(dir, stamp, ".dockerconfigjson");
  if (bytes instanceof Uint8Array) writeFileSync(file, bytes);
  else execFileSync("truncate", ["-s", String(bytes.sparse), file]);
  symlinkSync(stamp, join(dir, "..data"));
  symlinkSync(join("..data", ".dockerconfigjson"), join(dir, ".dockerconfigjson"));
  return dir;
}

const fromApi = (bytes: Uint8Array): Result<unknown> =>
  credentialsFromSecret({
    kind: "Secret",
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": Buffer.from(bytes).toString("base64") },
  });

const json = '{"auths":{"reg.test":{"username":"u","password":"FAKE-p\u00e4ss"}}}';
const latin1 = Buffer.from(json, "latin1"); // ä as the single byte 0xE4
const utf8 = Buffer.from(json, "utf8");

const cases: { name: string; bytes: Uint8Array | { sparse: number }; want: RegExp | null }[] = [
  { name: "valid UTF-8 JSON", bytes: utf8, want: null },
  {
    name: "a UTF-8 byte-order mark first (refused: JSON and the kubelet refuse it)",
    bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8]),
    want: /^data\.\.dockerconfigjson: starts with a UTF-8 byte-order mark/,
  },
  {
    name: "bytes that are not UTF-8 (a stray 0xFF)",
    bytes: Buffer.concat([utf8.subarray(0, 10), Buffer.from([0xff]), utf8.subarray(10)]),
    want: /^data\.\.dockerconfigjson: not valid UTF-8$/,
  },
  {
    name: "Latin-1 (never repaired into U+FFFD)",
    bytes: latin1,
    want: /^data\.\.dockerconfigjson: not valid UTF-8$/,
  },
  {
    name: "exactly 1 MiB: not refused for its size (it is not JSON, that is all)",
    bytes: new Uint8Array(maxSecretBytes).fill(0x20),
    want: /^data\.\.dockerconfigjson: not valid JSON$/,
  },
  {
    name: "1 MiB and one byte: over the API server's limit",
    bytes: new Uint8Array(maxSecretBytes + 1).fill(0x20),
    want: /^data\.\.dockerconfigjson: 1048577 bytes: the API server accepts at most 1 MiB \(1048576 bytes\) in a Secret$/,
  },
];

const shown = (r: Result<unknown>): string =>
  r.ok ? "ok" : r.problems.map((p) => `${p.path}: ${p.message}`).join("\n");

describe("the same .dockerconfigjson bytes through the volume and through the API object", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const bytes = c.bytes as Uint8Array;
      const viaVolume = await readSecret({ kind: "dir", path: secretVolume(bytes) });
      const viaApi = fromApi(bytes);
      assert.deepEqual(viaVolume, viaApi);
      assert.deepEqual(viaApi, credentialsFromDockerConfigJson(bytes));
      if (c.want === null) {
        assert.ok(viaApi.ok, shown(viaApi));
        assert.deepEqual(viaApi.value, [{ key: "reg.test", username: "u", password: "FAKE-päss" }]);
      } else {
        assert.match(shown(viaApi), c.want);
        assert.ok(!shown(viaApi).includes("FAKE"), "a credential in a message");
      }
    });
  }

  it("a huge sparse file in the volume: refused with the API route's message, not read", async () => {
    const size = 64 * 1024 * 1024 * 1024; // 64 GiB of nothing
    const started = Date.now();
    const viaVolume = await readSecret({ kind: "dir", path: secretVolume({ sparse: size }) });
    assert.ok(Date.now() - started < 2000, "read the file");
    assert.equal(
      shown(viaVolume),
      `data..dockerconfigjson: ${String(size)} bytes: the API server accepts at most 1 MiB (1048576 bytes) in a Secret`,
    );
    // The API route says the same of a Secret over the limit.
    const big = fromApi(new Uint8Array(maxSecretBytes + 5));
    assert.equal(shown(big), shown(viaVolume).replace(String(size), String(maxSecretBytes + 5)));
  });

  it("stringData is its UTF-8 bytes: the same answer as those bytes in data", () => {
    for (const text of [json, `\ufeff${json}`, "{"]) {
      const viaStringData = credentialsFromSecret({
        kind: "Secret",
        type: "kubernetes.io/dockerconfigjson",
        stringData: { ".dockerconfigjson": text },
      });
      const viaData = fromApi(Buffer.from(text, "utf8"));
      assert.equal(
        shown(viaStringData).replaceAll("stringData.", "data."),
        shown(viaData),
        JSON.stringify(text),
      );
    }
  });
});
