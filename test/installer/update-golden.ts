/**
 * Regenerates every golden case's expected/ tree and expected.modes from its input after an
 * intended change (run through scripts/update-golden). input.modes is written only when
 * missing, from the input/ tree as it is on disk. Review the diff before committing it.
 */
import { rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { applyArgs, inputTree, listCases, runInstaller } from "./golden.ts";
import { materialize, modesManifest, snapshot } from "./tree.ts";

for (const c of await listCases()) {
  const manifest = join(c.dir, "input.modes");
  const hasManifest = await stat(manifest).then(
    () => true,
    () => false,
  );
  if (!hasManifest) await writeFile(manifest, modesManifest(await snapshot(join(c.dir, "input"))));
  const root = await inputTree(c);
  const r = await runInstaller(applyArgs(c, root));
  if ((r.error?.code ?? null) !== c.expectError) {
    throw new Error(
      `${c.name}: expected ${c.expectError ?? "success"}, got ${r.error?.message ?? "success"}`,
    );
  }
  const after = await snapshot(root);
  await rm(join(c.dir, "expected"), { recursive: true, force: true });
  const modes = modesManifest(after);
  await writeFile(join(c.dir, "expected.modes"), modes);
  // Copy contents (files only); expected.modes carries directories and modes.
  const plain = modes.replace(
    /^([df]) \d+ /gm,
    (_m, t: string) => `${t} ${t === "d" ? "0755" : "0644"} `,
  );
  await materialize(root, plain, join(c.dir, "expected"));
  await rm(root, { recursive: true, force: true });
  console.log(`updated ${c.name}`);
}
