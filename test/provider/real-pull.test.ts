// The static provider's answer, used as the kubelet uses it, pulls from real registries: with skopeo
// and with containerd's CRI PullImage (the kubelet's own call). A wrong password in the credentials
// file fails; after a real password rotation the old credentials fail and the rotated file works.
// With a live policy file, an image inside its rules pulls, one outside gets the empty answer, and
// an edited file applies on the very next call.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { formatPolicy } from "../../provider/core/policy.ts";
import { writeHostsToml } from "../env/containerd.ts";
import { CriClient } from "../env/cri.ts";
import { pushImage, skopeoTlsArgs, writeAuthFile } from "../env/image.ts";
import { testEnv, type RegistryEnv } from "../env/index.ts";
import { startRegistry, type RegistryInstance } from "../env/registry.ts";
import { runProvider, staticBinary } from "./run-provider.ts";

const run = promisify(execFile);

interface Creds {
  readonly username: string;
  readonly password: string;
}

interface Answer {
  readonly cacheKeyType: string;
  readonly cacheDuration: string;
  readonly auth: Readonly<Record<string, Creds>>;
}

function scratch(): string {
  return mkdtempSync(join(testEnv().workDir, "provider-pull-"));
}

/** A credentials file as the installer writes it: the Docker config of a dockerconfigjson Secret. */
function credentialsFile(auths: Readonly<Record<string, Creds>>): string {
  const file = join(scratch(), "config.json");
  const entries = Object.fromEntries(
    Object.entries(auths).map(([key, c]) => [
      key,
      { auth: Buffer.from(`${c.username}:${c.password}`).toString("base64") },
    ]),
  );
  writeFileSync(file, JSON.stringify({ auths: entries }), { mode: 0o600 });
  return file;
}

/** A policy file as the installer writes it: the live matchImages and the credentials. */
function writePolicy(
  file: string,
  matchImages: string[],
  auths: Readonly<Record<string, Creds>>,
): void {
  const credentials = Object.entries(auths).map(([key, c]) => ({
    key,
    username: c.username,
    password: c.password,
  }));
  writeFileSync(file, formatPolicy(matchImages, { scoped: false, credentials }), { mode: 0o600 });
}

/** What the kubelet would do: ask the provider for the image without tag, read the answer. */
function askWith(image: string, argv: string[]): Answer {
  const request = JSON.stringify({
    kind: "CredentialProviderRequest",
    apiVersion: "credentialprovider.kubelet.k8s.io/v1",
    image,
  });
  const result = runProvider(staticBinary(), argv, request + "\n");
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Answer;
}

function ask(image: string, credentials: string): Answer {
  return askWith(image, ["--credentials", credentials]);
}

/** The single credential the answer holds for `host` (the test files have one key per host). */
function credsFor(answer: Answer, host: string): Creds {
  const creds = answer.auth[host];
  assert.ok(
    creds,
    `no credentials for ${host} in the answer (keys: ${Object.keys(answer.auth).join(", ")})`,
  );
  return creds;
}

async function skopeoInspect(registry: RegistryEnv, image: string, creds: Creds): Promise<void> {
  const authFile = writeAuthFile(join(scratch(), "auth.json"), { [registry.host]: creds });
  await run("skopeo", [
    "inspect",
    "--raw",
    ...skopeoTlsArgs(registry, ""),
    "--authfile",
    authFile,
    `docker://${image}`,
  ]);
}

const unauthorized = /unauthorized|authentication required|401/i;

for (const kind of ["plain", "tls"] as const) {
  describe(`provider answer pulls from the ${kind} registry`, () => {
    const env = testEnv();
    const registry = env.registry[kind];
    const repo = `${registry.host}/${env.image.repository}`;
    const image = `${repo}:${env.image.tag}`;
    const cri = new CriClient(env.criProto, env.containerd.socket);
    after(() => {
      cri.close();
    });

    it("answers with the registry's credentials, and only those", () => {
      const file = credentialsFile({
        [registry.host]: registry,
        "other.registry.example": { username: "other", password: "other-password" },
      });
      const answer = ask(repo, file);
      assert.deepEqual(answer.auth, {
        [registry.host]: { username: registry.username, password: registry.password },
      });
    });

    it("pulls with skopeo and with CRI PullImage using the answer", async () => {
      const answer = ask(repo, credentialsFile({ [registry.host]: registry }));
      const creds = credsFor(answer, registry.host);
      await skopeoInspect(registry, image, creds);
      const ref = await cri.pullImage(image, creds);
      assert.match(ref, /^sha256:/);
      await cri.removeImage(image);
    });

    it("answers from a live policy file: inside the rules pulls, outside gets nothing, edits apply at once", async () => {
      const file = join(scratch(), "policy.json");
      const policy = (image: string): Answer => askWith(image, ["--policy", file]);
      writePolicy(file, [repo], { [registry.host]: registry });
      const inside = policy(repo);
      assert.equal(inside.cacheDuration, "0s");
      const creds = credsFor(inside, registry.host);
      await skopeoInspect(registry, image, creds);
      assert.match(await cri.pullImage(image, creds), /^sha256:/);
      await cri.removeImage(image);
      // The same registry outside the rules: the key would match, the rule does not.
      assert.deepEqual(policy(`${registry.host}/elsewhere/app`), {
        kind: "CredentialProviderResponse",
        apiVersion: "credentialprovider.kubelet.k8s.io/v1",
        cacheKeyType: "Image",
        cacheDuration: "0s",
        auth: {},
      });
      // matchImages edited (the installer rewrites the file): the very next call follows it.
      writePolicy(file, [`${registry.host}/elsewhere`], { [registry.host]: registry });
      assert.deepEqual(policy(repo).auth, {});
      await assert.rejects(cri.pullImage(image), unauthorized);
    });

    it("fails to pull when the credentials file holds a wrong password", async () => {
      const wrong = { username: registry.username, password: "not-the-password" };
      const creds = credsFor(ask(repo, credentialsFile({ [registry.host]: wrong })), registry.host);
      await assert.rejects(skopeoInspect(registry, image, creds), unauthorized);
      await assert.rejects(cri.pullImage(image, creds), unauthorized);
    });
  });
}

describe("provider answer across a real password rotation", () => {
  const env = testEnv();
  let registry: RegistryInstance;
  const cri = new CriClient(env.criProto, env.containerd.socket);
  const username = "rotating";

  before(async () => {
    registry = await startRegistry({
      dir: scratch(),
      name: "rotation",
      username,
      password: "before-rotation-1",
    });
    const authFile = writeAuthFile(join(scratch(), "push.json"), {
      [registry.env.host]: registry.env,
    });
    pushImage(env.image.source, registry.env, env.image.repository, env.image.tag, authFile);
    writeHostsToml(env.containerd.certsDir, registry.env);
  });
  after(async () => {
    cri.close();
    await registry.stop();
  });

  it("refuses the old credentials after rotation and pulls with the rotated file", async () => {
    const repo = `${registry.env.host}/${env.image.repository}`;
    const image = `${repo}:${env.image.tag}`;
    const oldFile = credentialsFile({ [registry.env.host]: registry.env });
    const oldCreds = credsFor(ask(repo, oldFile), registry.env.host);
    await skopeoInspect(registry.env, image, oldCreds);

    const rotated = await registry.rotatePassword("after-rotation-2");
    const stale = credsFor(ask(repo, oldFile), registry.env.host);
    await assert.rejects(skopeoInspect(rotated, image, stale), unauthorized);
    await assert.rejects(cri.pullImage(image, stale), unauthorized);

    const fresh = credsFor(ask(repo, credentialsFile({ [rotated.host]: rotated })), rotated.host);
    assert.equal(fresh.password, "after-rotation-2");
    await skopeoInspect(rotated, image, fresh);
    await cri.pullImage(image, fresh);
    await cri.removeImage(image);
  });
});
