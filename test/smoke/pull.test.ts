// Real clients pull the test image with the right credentials and fail with wrong ones:
// skopeo (containers/image) and containerd's CRI ImageService/PullImage, the call the kubelet makes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { CriClient } from "../env/cri.ts";
import { skopeoTlsArgs, writeAuthFile } from "../env/image.ts";
import { testEnv, type RegistryEnv } from "../env/index.ts";

const run = promisify(execFile);

async function skopeoInspect(
  registry: RegistryEnv,
  image: string,
  creds: { username: string; password: string } | undefined,
): Promise<string> {
  const dir = mkdtempSync(join(testEnv().workDir, "skopeo-"));
  const authArgs = creds
    ? ["--authfile", writeAuthFile(join(dir, "auth.json"), { [registry.host]: creds })]
    : ["--no-creds"];
  const { stdout } = await run("skopeo", [
    "inspect",
    "--raw",
    ...skopeoTlsArgs(registry, ""),
    ...authArgs,
    `docker://${image}`,
  ]);
  return stdout;
}

for (const kind of ["plain", "tls"] as const) {
  const env = testEnv();
  const registry = env.registry[kind];
  const image = `${registry.host}/${env.image.repository}:${env.image.tag}`;
  const wrong = { username: registry.username, password: "wrong-password" };

  describe(`skopeo against the ${kind} registry`, () => {
    it("reads the manifest with the right credentials", async () => {
      const manifest = JSON.parse(await skopeoInspect(registry, image, registry)) as {
        layers: unknown[];
      };
      assert.equal(manifest.layers.length, 1);
    });

    it("is refused with a wrong password and with no credentials", async () => {
      await assert.rejects(
        skopeoInspect(registry, image, wrong),
        /unauthorized|authentication required/i,
      );
      await assert.rejects(
        skopeoInspect(registry, image, undefined),
        /unauthorized|authentication required/i,
      );
    });
  });

  describe(`containerd CRI PullImage from the ${kind} registry`, () => {
    const cri = new CriClient(env.criProto, env.containerd.socket);
    after(() => {
      cri.close();
    });

    it("pulls with the right AuthConfig, and the image is then listed", async () => {
      const ref = await cri.pullImage(image, registry);
      assert.match(ref, /^sha256:[0-9a-f]{64}$/);
      assert.ok((await cri.listImages()).includes(image));
      await cri.removeImage(image);
      assert.ok(!(await cri.listImages()).includes(image));
    });

    it("fails with a wrong password and with no AuthConfig", async () => {
      await assert.rejects(
        cri.pullImage(image, wrong),
        /401 Unauthorized|authorization failed|unauthorized/i,
      );
      await assert.rejects(
        cri.pullImage(image),
        /401 Unauthorized|authorization failed|unauthorized/i,
      );
      assert.ok(!(await cri.listImages()).includes(image));
    });
  });
}
