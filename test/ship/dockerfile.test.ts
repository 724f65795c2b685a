// What the Dockerfile copies out of the build stage exists after `npm run build` (the test command
// builds first), and what the manifests run is what the image holds.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";

const repo = join(import.meta.dirname, "..", "..");
const dockerfile = readFileSync(join(repo, "Dockerfile"), "utf8");

/** `COPY --from=build /src/<path> <dest>` lines: repo-relative source and image destination. */
function buildCopies(): { source: string; dest: string }[] {
  return [...dockerfile.matchAll(/^COPY --from=build \/src\/(\S+) (\S+)$/gm)].map((m) => ({
    source: m[1] ?? "",
    dest: m[2] ?? "",
  }));
}

describe("Dockerfile", () => {
  it("copies only files that npm run build produced", () => {
    const copies = buildCopies();
    assert.ok(copies.length >= 3, "no COPY --from=build lines found");
    for (const { source } of copies) {
      assert.ok(
        existsSync(join(repo, source)),
        `${source} is copied but npm run build did not make it`,
      );
      assert.ok(statSync(join(repo, source)).size > 0, `${source} is empty`);
    }
  });

  it("ships both installer bundles and a provider for both architectures", () => {
    const dests = buildCopies().map((c) => c.dest);
    for (const want of [
      "/opt/nodecred/nodecred-installer.mjs",
      "/opt/nodecred/nodecred-sync.mjs",
      "/opt/nodecred/bin/nodecred-provider-linux-amd64",
      "/opt/nodecred/bin/nodecred-provider-linux-arm64",
    ]) {
      assert.ok(dests.includes(want), `${want} missing from the image`);
    }
  });

  it("pins its base images to exact versions", () => {
    for (const m of dockerfile.matchAll(/^ARG \w+_IMAGE=(\S+)$/gm)) {
      assert.match(m[1] ?? "", /:\d+(\.\d+)+[-\w.]*$/, `${m[1] ?? ""} is not pinned`);
    }
  });

  it("runs in the manifests the installer bundle the image has, for its command", () => {
    const docs = parseAllDocuments(readFileSync(join(repo, "manifests/daemonset.yaml"), "utf8"));
    type Container = { name: string; command: string[] };
    const ds = docs[0]?.toJS() as {
      spec: { template: { spec: { initContainers: Container[]; containers: Container[] } } };
    };
    const pod = ds.spec.template.spec;
    const dests = buildCopies().map((c) => c.dest);
    // apply from the bundle of every command; the long-running sync container from the bundle of
    // `run` only, which does not load apply's modules.
    const want: Record<string, [string, string]> = {
      apply: ["/opt/nodecred/nodecred-installer.mjs", "apply"],
      sync: ["/opt/nodecred/nodecred-sync.mjs", "run"],
    };
    const containers = [...pod.initContainers, ...pod.containers];
    assert.deepEqual(containers.map((c) => c.name).sort(), Object.keys(want).sort());
    for (const c of containers) {
      assert.equal(c.command[0], "node");
      // Node flags (--name=value) may come between node and the installer.
      const at = c.command.findIndex((a, i) => i > 0 && !a.startsWith("--"));
      assert.deepEqual(c.command.slice(at, at + 2), want[c.name], c.name);
      assert.ok(dests.includes(c.command[at] ?? ""), `${c.name}: not in the image`);
    }
  });
});
