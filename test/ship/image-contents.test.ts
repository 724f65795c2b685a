// The Dockerfile (releases) and scripts/build-image.sh (tests, no Docker engine) make the same
// image: the Dockerfile's final stage, read from its text, names exactly the files of the layer
// build-image.sh builds, and the same user, PATH and entrypoint. Docker cannot run here, so its
// runtime stage's script (scripts/image-runtime.sh, which both builds run) is run the way that
// stage runs it. The layer's size is the one the registry stores and the nodes pull.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";

const repo = join(import.meta.dirname, "..", "..");
const dockerfile = readFileSync(join(repo, "Dockerfile"), "utf8");
/** What a node pulls at most, compressed: the bound this image is held to. */
const maxLayerBytes = 45 * 1024 * 1024;

function ok(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000, maxBuffer: 1 << 26 });
  if (r.error !== undefined) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} exited ${String(r.status)}: ${r.stderr}`);
  return r.stdout;
}

interface Stage {
  from: string;
  name: string;
  lines: string[];
}

/** The Dockerfile's stages, instructions joined across `\` continuations, comments dropped. */
function stages(): Stage[] {
  const joined = dockerfile
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  const out: Stage[] = [];
  for (const line of joined.split("\n").map((l) => l.trim())) {
    const from = /^FROM (?:--platform=\S+ )?(\S+)(?: AS (\S+))?$/.exec(line);
    if (from !== null) out.push({ from: from[1] ?? "", name: from[2] ?? "", lines: [] });
    else if (line !== "") out.at(-1)?.lines.push(line);
  }
  return out;
}

/** Every path under `root`, as in an image ("/usr/local/bin/node"), directories included. */
function treeOf(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      out.push(`/${relative(root, p)}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** Every path a file in the image needs: the file and each directory above it. */
function withParents(paths: readonly string[]): string[] {
  const all = new Set<string>();
  for (const p of paths) {
    const parts = p.split("/").filter((x) => x !== "");
    for (let i = 1; i <= parts.length; i++) all.add(`/${parts.slice(0, i).join("/")}`);
  }
  return [...all].sort();
}

describe("the image of the Dockerfile and of scripts/build-image.sh", { timeout: 600_000 }, () => {
  let dir = "";
  let layerPaths: string[] = [];
  let layerBytes = 0;
  let layerBlob = "";
  let config: { User?: string; Env?: string[]; Entrypoint?: string[] } = {};

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "nodecred-image-contents-"));
    const layout = join(dir, "layout");
    ok("bash", [join(repo, "scripts/build-image.sh"), layout, "test"]);
    const blob = (digest: string): string =>
      join(layout, "blobs", "sha256", digest.replace(/^sha256:/, ""));
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(readFileSync(blob(index.manifests[0]?.digest ?? ""), "utf8")) as {
      config: { digest: string };
      layers: { digest: string; size: number }[];
    };
    assert.equal(manifest.layers.length, 1);
    const layer = manifest.layers[0];
    if (layer === undefined) throw new Error("no layer");
    layerBlob = blob(layer.digest);
    layerBytes = layer.size;
    assert.equal(statSync(layerBlob).size, layerBytes);
    config = (
      JSON.parse(readFileSync(blob(manifest.config.digest), "utf8")) as { config: typeof config }
    ).config;
    layerPaths = ok("tar", ["-tzf", layerBlob])
      .split("\n")
      .map((p) => p.replace(/^\.?\/?/, "").replace(/\/$/, ""))
      .filter((p) => p !== "")
      .map((p) => `/${p}`)
      .sort();
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("holds exactly what the Dockerfile's final stage copies", () => {
    const all = stages();
    const final = all.at(-1);
    assert.equal(final?.from, "scratch", "the final stage is not FROM scratch");
    const expected: string[] = [];
    for (const line of final.lines) {
      const copy = /^COPY --from=(\S+) (\S+) (\S+)$/.exec(line);
      if (copy === null) {
        assert.match(line, /^(USER|ENV|ENTRYPOINT) /, `unexpected in the final stage: ${line}`);
        continue;
      }
      const [, stage, source, dest] = copy;
      if (stage === "build") {
        expected.push(dest ?? "");
        continue;
      }
      // A whole directory of another stage: what that stage's RUN of image-runtime.sh makes.
      assert.equal(dest, "/", line);
      const from = all.find((s) => s.name === stage);
      const runLine = from?.lines.find((l) => /^RUN .*scripts\/image-runtime\.sh/.test(l));
      const args = /image-runtime\.sh (\S+) (\S+)$/.exec(runLine ?? "");
      assert.ok(args !== null, `stage ${stage ?? ""} does not run scripts/image-runtime.sh`);
      assert.equal(`${args[1] ?? ""}/`, source, `${line}: not the rootfs its stage builds`);
      const rootfs = join(dir, `stage-${stage ?? ""}`);
      ok("bash", [join(repo, "scripts/image-runtime.sh"), rootfs, process.execPath]);
      expected.push(...treeOf(rootfs));
    }
    assert.deepEqual(layerPaths, withParents(expected));
  });

  it("has the Dockerfile's user, PATH and entrypoint", () => {
    const final = stages().at(-1)?.lines ?? [];
    const value = (key: string): string =>
      final.find((l) => l.startsWith(`${key} `))?.slice(key.length + 1) ?? "";
    assert.equal(config.User, value("USER"));
    assert.deepEqual(config.Env, [value("ENV")]);
    assert.deepEqual(config.Entrypoint, JSON.parse(value("ENTRYPOINT")) as string[]);
  });

  it("ships Node stripped and stays under 45 MiB compressed", () => {
    const node = join(dir, "node");
    ok("sh", ["-c", 'tar -xzOf "$0" usr/local/bin/node > "$1"', layerBlob, node]);
    assert.match(ok("file", ["-b", node]).trim(), /, stripped$/);
    assert.match(ok("file", ["-b", process.execPath]), /not stripped/, "the source is stripped");
    assert.ok(
      layerBytes <= maxLayerBytes,
      `the layer is ${(layerBytes / 2 ** 20).toFixed(1)} MiB compressed`,
    );
  });
});
