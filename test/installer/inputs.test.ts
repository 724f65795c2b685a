// apply's inputs are read bounded: only regular files, never more than the API server would hold,
// so a FIFO, a device, a directory or a huge file is refused at once (exit 3, INVALID_INPUT)
// instead of hanging the init container or filling its memory. Real files, FIFOs (mkfifo) and
// sparse files (truncate) in temp dirs; the last tests run the built bundle as a process.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { readConfigMap } from "../../installer/cli/inputs.ts";
import { parseSettings } from "../../installer/core/settings/configmap.ts";
import { applyArgs, inputTree, listCases, repoRoot, runInstaller } from "./golden.ts";
import { tempDir } from "../temp-dir.ts";

const goldenCase = async (): Promise<Awaited<ReturnType<typeof listCases>>[number]> => {
  const c = (await listCases()).find((x) => x.name === "kubeadm-deb-double-quoted");
  assert.ok(c);
  return c;
};

const configMapData = (): Record<string, string> => {
  const c = parse(readFileSync(join(repoRoot, "test/golden/installer/configmap.yaml"), "utf8")) as {
    data: Record<string, string>;
  };
  return c.data;
};

/** A volume the way the kubelet writes it: files in a timestamped dir, keys symlinked via ..data. */
function volume(files: Readonly<Record<string, string | Uint8Array>>): string {
  const dir = tempDir("nodecred-volume-");
  const stamp = "..2026_11_23_01_02_03.000000001";
  mkdirSync(join(dir, stamp));
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(dir, stamp, name), content);
  symlinkSync(stamp, join(dir, "..data"));
  for (const name of Object.keys(files)) symlinkSync(join("..data", name), join(dir, name));
  return dir;
}

function fifo(): string {
  const path = join(tempDir("nodecred-fifo-"), "fifo");
  execFileSync("mkfifo", [path]);
  return path;
}

function sparse(bytes: number): string {
  const path = join(tempDir("nodecred-sparse-"), "huge.yaml");
  execFileSync("truncate", ["-s", String(bytes), path]);
  return path;
}

/** Runs apply in-process with the ConfigMap and/or Secret swapped; its error, and how long. */
async function applyWith(swap: {
  configMap?: [string, string];
  secret?: [string, string];
}): Promise<{ code: string | undefined; message: string; ms: number }> {
  const c = await goldenCase();
  const args = applyArgs(c, await inputTree(c));
  for (const [flag, value] of [
    [`--configmap`, swap.configMap],
    [`--secret`, swap.secret],
  ] as const) {
    if (value !== undefined) args.splice(args.indexOf(flag), 2, ...value);
  }
  const started = Date.now();
  const r = await runInstaller(args);
  return { code: r.error?.code, message: r.error?.message ?? "", ms: Date.now() - started };
}

describe("bounded reads of apply's inputs", () => {
  const cases: {
    name: string;
    swap: () => Parameters<typeof applyWith>[0];
    want: RegExp;
  }[] = [
    {
      name: "a FIFO as the ConfigMap file (no writer: a plain read would wait forever)",
      swap: () => ({ configMap: ["--configmap", fifo()] }),
      want: /^ConfigMap \S+\/fifo is a FIFO, not a regular file$/,
    },
    {
      name: "/dev/zero as the Secret file (a plain read would never end)",
      swap: () => ({ secret: ["--secret", "/dev/zero"] }),
      want: /^Secret \/dev\/zero is a character device, not a regular file$/,
    },
    {
      name: "a directory as the ConfigMap file",
      swap: () => ({ configMap: ["--configmap", tempDir("nodecred-dir-")] }),
      want: /is a directory, not a regular file$/,
    },
    {
      name: "a 100 GiB sparse ConfigMap file: refused by its size, not read",
      swap: () => ({ configMap: ["--configmap", sparse(100 * 1024 ** 3)] }),
      want: /^ConfigMap \S+ is 107374182400 bytes; at most 8388608 bytes are accepted: a manifest/,
    },
    {
      name: "a manifest file that is not UTF-8",
      swap: () => {
        const path = join(tempDir("nodecred-latin1-"), "cm.yaml");
        writeFileSync(path, Buffer.from("kind: ConfigMap\n# caf\xe9\n", "latin1"));
        return { configMap: ["--configmap", path] };
      },
      want: /^ConfigMap \S+ is not valid UTF-8$/,
    },
    {
      name: "a FIFO as a ConfigMap volume's key",
      swap: () => {
        const dir = volume({ defaultCacheDuration: "0s" });
        execFileSync("mkfifo", [join(dir, "..2026_11_23_01_02_03.000000001", "matchImages")]);
        symlinkSync(join("..data", "matchImages"), join(dir, "matchImages"));
        return { configMap: ["--configmap-dir", dir] };
      },
      want: /^ConfigMap \S+\/matchImages is a FIFO, not a regular file$/,
    },
    {
      name: "a ConfigMap volume whose files total more than 1 MiB",
      swap: () => ({
        configMap: [
          "--configmap-dir",
          volume({ a: "x".repeat(600 * 1024), b: "y".repeat(600 * 1024) }),
        ],
      }),
      want: /\/b is 614400 bytes, after 614400 bytes in the volume's other files; at most 1048576 bytes are accepted: the API server accepts at most 1 MiB \(1048576 bytes\) of data in a ConfigMap or Secret$/,
    },
    {
      name: "a volume key linking out of the volume",
      swap: () => {
        const dir = volume(configMapData());
        symlinkSync("/etc/hostname", join(dir, "extra"));
        return { configMap: ["--configmap-dir", dir] };
      },
      want: /^ConfigMap \S+\/extra leads outside its volume \(to /,
    },
    {
      name: "a FIFO given as the Secret volume",
      swap: () => ({ secret: ["--secret-dir", fifo()] }),
      want: /^Secret volume \S+ is a FIFO, not a directory$/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}, at once`, async () => {
      const r = await applyWith(c.swap());
      assert.equal(r.code, "INVALID_INPUT", r.message);
      assert.match(r.message, c.want);
      assert.ok(r.ms < 5000, `took ${String(r.ms)} ms`);
    });
  }

  it("accepts a ConfigMap volume of exactly 1 MiB, refuses one more byte", async () => {
    const data = configMapData();
    const used = Object.values(data).reduce((n, v) => n + Buffer.byteLength(v), 0);
    const pad = (extra: number): string =>
      `{{!-- ${"p".repeat(1024 * 1024 - used - 12 + extra)} --}}\n`;
    assert.equal(used + Buffer.byteLength(pad(0)), 1024 * 1024);
    // Read whole: whatever the ConfigMap's own checks then say of the template.
    const r = await readConfigMap({
      kind: "dir",
      path: volume({ ...data, credentialProviderConfigTemplate: pad(0) }),
    });
    assert.ok(r.ok || r.problems.every((p) => p.path.startsWith("data.")), JSON.stringify(r));
    await assert.rejects(
      readConfigMap({
        kind: "dir",
        path: volume({ ...data, credentialProviderConfigTemplate: pad(1) }),
      }),
      { code: "INVALID_INPUT", message: /at most 1048576 bytes are accepted/ },
    );
  });
});

describe("ConfigMap volume files are UTF-8, as the API object's strings", () => {
  it("the same settings as the object's data (a byte-order mark kept, not stripped)", async () => {
    for (const data of [
      configMapData(),
      { ...configMapData(), matchImages: `\ufeff${configMapData()["matchImages"] ?? ""}` },
    ]) {
      assert.deepEqual(
        await readConfigMap({ kind: "dir", path: volume(data) }),
        parseSettings(data),
      );
    }
  });

  it("a key that is not UTF-8 is refused by name (never repaired into U+FFFD)", async () => {
    const r = await readConfigMap({
      kind: "dir",
      path: volume({ ...configMapData(), matchImages: Buffer.from("caf\xe9.test\n", "latin1") }),
    });
    if (r.ok) assert.fail("accepted");
    assert.deepEqual(
      r.problems.map((p) => p.path),
      ["data.matchImages"],
    );
    assert.match(
      r.problems[0]?.message ?? "",
      /^not valid UTF-8 \(the volume's file \S+\/matchImages\)$/,
    );
  });
});

const bundle = join(repoRoot, "dist", "installer", "nodecred-installer.mjs");

/** The built installer as a process; resolves with its exit code and stderr, or null on timeout. */
function runBundle(args: readonly string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

describe("the installer process (dist bundle) exits promptly with INVALID_INPUT", () => {
  const skip = existsSync(bundle) ? false : `no ${bundle} (npm run build)`;
  for (const [name, swap] of [
    ["a FIFO as --configmap", (): [string, string] => ["--configmap", fifo()]],
    ["/dev/zero as --secret", (): [string, string] => ["--secret", "/dev/zero"]],
    ["a huge sparse --configmap", (): [string, string] => ["--configmap", sparse(64 * 1024 ** 3)]],
  ] as const) {
    it(name, { skip }, async () => {
      const c = await goldenCase();
      const args = applyArgs(c, await inputTree(c));
      const [flag, value] = swap();
      args.splice(args.indexOf(flag), 2, flag, value);
      const started = Date.now();
      const r = await runBundle(args);
      assert.equal(r.status, 3, r.stderr);
      assert.ok(Date.now() - started < 10_000, "not prompt");
      assert.match(r.stderr, /"code":"INVALID_INPUT"/);
      assert.ok(r.stderr.includes(value), r.stderr);
    });
  }
});
