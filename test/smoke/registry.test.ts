// The registries of the test environment are real and really enforce basic auth, over HTTP and TLS.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { testEnv } from "../env/index.ts";
import { registryGet } from "../env/registry.ts";

const manifestAccept = {
  accept:
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
};

for (const kind of ["plain", "tls"] as const) {
  describe(`registry (${kind})`, () => {
    const env = testEnv();
    const registry = env.registry[kind];
    const manifest = `/v2/${env.image.repository}/manifests/${env.image.tag}`;

    it("answers 401 without credentials", async () => {
      assert.equal(await registryGet(registry, "/v2/"), 401);
      assert.equal(await registryGet(registry, manifest, undefined, manifestAccept), 401);
    });

    it("answers 401 with a wrong password or an unknown user", async () => {
      const wrong = { username: registry.username, password: `${registry.password}x` };
      assert.equal(await registryGet(registry, manifest, wrong, manifestAccept), 401);
      const stranger = { username: "stranger", password: registry.password };
      assert.equal(await registryGet(registry, manifest, stranger, manifestAccept), 401);
    });

    it("serves the pushed image's manifest with the right credentials", async () => {
      assert.equal(await registryGet(registry, manifest, registry, manifestAccept), 200);
      const missing = `/v2/${env.image.repository}/manifests/no-such-tag`;
      assert.equal(await registryGet(registry, missing, registry, manifestAccept), 404);
    });
  });
}

describe("registry (tls) certificate", () => {
  it("is refused by a client that does not trust the test CA", async () => {
    const { caFile: _ca, caDir: _dir, ...untrusted } = testEnv().registry.tls;
    await assert.rejects(
      registryGet(untrusted, "/v2/"),
      /self-signed|unable to verify|certificate/i,
    );
  });
});
