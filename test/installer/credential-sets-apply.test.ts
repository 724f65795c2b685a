/**
 * credentialSets through the installer's real command line (`apply`, in-process like golden.ts)
 * on the golden kubeadm-rpm node with sets: a kubelet older than v1.34 (or of unknown version)
 * is refused with exit 3 and a message naming it, nothing changed; the sets whose Secrets apply
 * cannot see keep the credentials the node's policy file has for them; two sets in conflict are
 * refused with the conflict, never a password.
 */
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { exitCodes } from "../../installer/core/exit-codes.ts";
import type { Credential } from "../../provider/core/keyring.ts";
import { formatPolicy, parsePolicy, type CredentialSet } from "../../provider/core/policy.ts";
import { tempDir } from "../temp-dir.ts";
import { applyArgs, inputTree, listCases, runInstaller, type GoldenCase } from "./golden.ts";
import { diffSnapshots, snapshot } from "./tree.ts";

const policyPath = "etc/nodecred/credentials/policy.json";
const fakePassword = "FAKE-test-password-not-real";
const teamPassword = "FAKE-team-a-password";

const golden = (await listCases()).find((c) => c.name === "kubeadm-rpm-credential-sets");
if (golden === undefined) throw new Error("golden case kubeadm-rpm-credential-sets missing");
const base: GoldenCase = golden;

async function withNode(c: GoldenCase, body: (root: string) => Promise<void>): Promise<void> {
  const root = await inputTree(c);
  try {
    await body(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The golden case with another ConfigMap's credentialSets. */
async function withSets(credentialSets: string): Promise<GoldenCase> {
  const text = await readFile(base.configMap, "utf8");
  const at = text.indexOf("  credentialSets: |\n");
  assert.ok(at > 0);
  const indented = credentialSets
    .split("\n")
    .map((l) => (l === "" ? l : `    ${l}`))
    .join("\n");
  const file = join(tempDir("nodecred-sets-cm-"), "configmap.yaml");
  await writeFile(file, `${text.slice(0, at)}  credentialSets: |\n${indented}`);
  return { ...base, configMap: file };
}

async function policySets(root: string): Promise<readonly CredentialSet[]> {
  const parsed = parsePolicy(await readFile(join(root, policyPath), "utf8"));
  if (!parsed.ok) assert.fail(parsed.problems.join("; "));
  if (!parsed.policy.grants.scoped) assert.fail("unscoped");
  return parsed.policy.grants.sets;
}

describe("apply with credentialSets: the kubelet must send service account tokens", () => {
  const refused: [what: string, c: GoldenCase, withVersion: boolean, message: RegExp][] = [
    [
      "kubelet v1.33.5: exit 3, naming the version and the feature gate",
      { ...base, kubeletVersion: "v1.33.5" },
      true,
      /data\.credentialSets: scoped credentials need a kubelet that sends service account tokens to credential providers \(tokenAttributes, feature gate KubeletServiceAccountTokenForCredentialProviders, on by default from v1\.34\); this node's kubelet is v1\.33\.5/,
    ],
    [
      "kubelet version unknown (--restart none, no --kubelet-version): exit 3",
      base,
      false,
      /this node's kubelet version is not known/,
    ],
  ];
  for (const [what, c, withVersion, message] of refused) {
    it(what, async () => {
      await withNode(c, async (root) => {
        const before = await snapshot(root);
        const argv = applyArgs(c, root);
        const i = argv.indexOf("--kubelet-version");
        const line = withVersion ? argv : [...argv.slice(0, i), ...argv.slice(i + 2)];
        const r = await runInstaller(line);
        assert.equal(r.error?.code, "INVALID_INPUT", r.error?.message);
        assert.equal(exitCodes[r.error.code], 3);
        assert.match(r.error.message, message);
        assert.match(r.error.message, /nothing changed/);
        assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
      });
    });
  }

  it("kubelet v1.34.1: the config carries tokenAttributes, the policy file the sets", async () => {
    await withNode(base, async (root) => {
      const r = await runInstaller(applyArgs(base, root));
      assert.equal(r.error, null, r.error?.message);
      const config = await readFile(
        join(root, "etc/nodecred/credential-provider-config.yaml"),
        "utf8",
      );
      assert.match(config, /tokenAttributes:\n {6}cacheType: ServiceAccount\n/);
      assert.deepEqual(
        (await policySets(root)).map((s) => [s.name, s.credentials.length]),
        [
          ["default", 1],
          ["team-a", 0],
          ["team-a-ci", 0],
        ],
      );
    });
  });
});

describe("apply keeps what the node's policy file has for sets whose Secrets it cannot see", () => {
  const teamA: Credential = {
    key: "team-a.example.test",
    username: "team-a-robot",
    password: teamPassword,
  };

  /** The node's policy file as the sync container would have left it: team-a filled in. */
  async function syncedFile(root: string, key = teamA.key): Promise<Uint8Array> {
    const sets = (await policySets(root)).map((s) =>
      s.name === "team-a" ? { ...s, credentials: [{ ...teamA, key }] } : s,
    );
    const text = formatPolicy(["registry.example.test", "*.registry.example.test:5000/team"], {
      scoped: true,
      sets,
    });
    await writeFile(join(root, policyPath), text);
    return new TextEncoder().encode(text);
  }

  it("a second apply changes nothing in it", async () => {
    await withNode(base, async (root) => {
      assert.equal((await runInstaller(applyArgs(base, root))).error, null);
      const synced = await syncedFile(root);
      const again = await runInstaller(applyArgs(base, root));
      assert.equal(again.error, null, again.error?.message);
      assert.deepEqual(new Uint8Array(await readFile(join(root, policyPath))), synced);
      assert.ok(!again.logs.includes(teamPassword) && !again.stdout.includes(teamPassword));
    });
  });

  it("a set that now names another Secret starts empty", async () => {
    await withNode(base, async (root) => {
      assert.equal((await runInstaller(applyArgs(base, root))).error, null);
      await syncedFile(root);
      const renamed = await withSets("team-a:\n  secret: team-a-other\n  namespaces: [team-a]\n");
      const r = await runInstaller(applyArgs(renamed, root));
      assert.equal(r.error, null, r.error?.message);
      assert.deepEqual(
        (await policySets(root)).map((s) => [s.name, s.secret, s.credentials.length]),
        [
          ["team-a", "team-a-other", 0],
          ["default", null, 1],
        ],
      );
    });
  });

  it("two sets in conflict: exit 3 naming both and the fix, nothing written, no password", async () => {
    await withNode(base, async (root) => {
      assert.equal((await runInstaller(applyArgs(base, root))).error, null);
      // team-a's Secret (on the node) holds the registry the default set holds, and both
      // admit namespace team-a.
      await syncedFile(root, "registry.example.test");
      const before = await snapshot(root);
      const r = await runInstaller(applyArgs(base, root));
      assert.equal(r.error?.code, "INVALID_INPUT");
      assert.match(
        r.error.message,
        /data\.credentialSets\.team-a: conflicts with set "default": namespace patterns "team-a" and "\*" \(of "default"\) match some namespace alike, and both hold credentials for registry key "registry\.example\.test", .*mark one onlyWhenSelected: true/,
      );
      assert.deepEqual(diffSnapshots(before, await snapshot(root)), []);
      for (const secret of [fakePassword, teamPassword]) {
        assert.ok(!r.error.message.includes(secret) && !r.logs.includes(secret), secret);
      }
      // The dry run says the same.
      const dry = await runInstaller(applyArgs(base, root, ["--dry-run"]));
      assert.equal(dry.error?.code, "INVALID_INPUT");
    });
  });
});
