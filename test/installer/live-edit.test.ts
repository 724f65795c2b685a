/**
 * A ConfigMap or Secret edit on an installed node, through the installer's command line: with
 * `matching: live`, a matchImages edit inside the envelope or a rotated password changes only the
 * policy file (no kubelet restart, the provider reads it on the next pull); a registry on a new
 * port changes the kubelet's config and restarts it; with `matching: kubelet` every matchImages
 * edit does. What `--dry-run` says and what apply then does must agree.
 */
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../temp-dir.ts";
import { applyArgs, inputTree, listCases, runInstaller, type GoldenCase } from "./golden.ts";

const found = (await listCases()).find((c) => c.name === "kubeadm-rpm-unquoted-empty");
assert.ok(found);
const golden: GoldenCase = found;
const policyFile = "/etc/nodecred/credentials/policy.json";
const configFile = "/etc/nodecred/credential-provider-config.yaml";
const noRestart =
  "no kubelet restart: the kubelet's config is unchanged, the provider reads the new policy file on the next pull";

async function configMap(name: string, data: Record<string, string>): Promise<string> {
  const file = join(tempDir("nodecred-live-edit-"), `${name}-configmap.yaml`);
  await writeFile(file, JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", data }));
  return file;
}

async function secret(name: string, auths: Record<string, unknown>): Promise<string> {
  const file = join(tempDir("nodecred-live-edit-"), `${name}-secret.yaml`);
  await writeFile(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/dockerconfigjson",
      stringData: { ".dockerconfigjson": JSON.stringify({ auths }) },
    }),
  );
  return file;
}

const base = "registry.example.test\n*.registry.example.test:5000/team";
const auths = { "registry.example.test": { username: "fake-user", password: "FAKE-live-1" } };

/** An installed node whose kubelet has restarted on nodecred's config (nothing pending). */
async function installedNode(c: GoldenCase): Promise<string> {
  const root = await inputTree(c);
  const r = await runInstaller(applyArgs(c, root));
  assert.equal(r.error, null, r.error?.message);
  // As if the kubelet had been restarted (restart.test.ts does it for real).
  const stateFile = join(root, "var/lib/nodecred/state.json");
  const state = JSON.parse(await readFile(stateFile, "utf8")) as { pendingRestart: boolean };
  await writeFile(stateFile, `${JSON.stringify({ ...state, pendingRestart: false }, null, 2)}\n`);
  return root;
}

interface Edit {
  readonly name: string;
  readonly matching?: "kubelet";
  readonly matchImages?: string;
  readonly auths?: Record<string, unknown>;
  /** What changes on the node; a restart exactly when the config is among them. */
  readonly changes: readonly string[];
  readonly dryRun: readonly RegExp[];
}

const edits: readonly Edit[] = [
  {
    name: "a registry on a port already in the envelope: the policy file only, no restart",
    matchImages: `${base}\nother.example.test:5000`,
    changes: [policyFile],
    dryRun: [/^ {2}\+matchImages other\.example\.test:5000$/m],
  },
  {
    name: "a pattern removed, its port still used: the policy file only, no restart",
    matchImages: "*.registry.example.test:5000/team",
    changes: [policyFile],
    dryRun: [/^ {2}-matchImages registry\.example\.test$/m],
  },
  {
    name: "a password rotated: the policy file only, no restart",
    auths: { "registry.example.test": { username: "fake-user", password: "FAKE-live-2" } },
    changes: [policyFile],
    dryRun: [/^ {2}credentials for "registry\.example\.test" changed$/m],
  },
  {
    name: "a registry on a new port: the config's envelope grows, restart",
    matchImages: `${base}\nother.example.test:8443`,
    auths: { ...auths, "other.example.test:8443": { username: "u2", password: "FAKE-live-3" } },
    changes: [policyFile, configFile],
    dryRun: [
      /^\+ {6}- "\*:8443"$/m,
      /^\+ {6}- "\*\.\*\.\*\.\*\.\*\.\*\.\*:8443"$/m,
      /^ {2}\+credentials for "other\.example\.test:8443"$/m,
      /^restart kubelet: provider-config \/etc\/nodecred\/credential-provider-config\.yaml updated$/m,
    ],
  },
  {
    name: "an 8-segment host: the envelope grows, restart",
    matchImages: `${base}\na.b.c.d.e.f.g.example.test`,
    changes: [policyFile, configFile],
    dryRun: [/^\+ {6}- "\*\.\*\.\*\.\*\.\*\.\*\.\*\.\*"$/m, /^restart kubelet: /m],
  },
  {
    name: "matching: kubelet, then a registry on a known port: restart",
    matching: "kubelet",
    matchImages: `${base}\nother.example.test:5000`,
    changes: [policyFile, configFile],
    dryRun: [/^\+ {6}- other\.example\.test:5000$/m, /^restart kubelet: /m],
  },
];

describe("live edits on an installed node", () => {
  for (const e of edits) {
    it(e.name, async () => {
      const c: GoldenCase = {
        ...golden,
        configMap: await configMap("before", {
          matchImages: base,
          ...(e.matching === undefined ? {} : { matching: e.matching }),
        }),
        secret: await secret("before", auths),
      };
      const root = await installedNode(c);
      try {
        const edited: GoldenCase = {
          ...c,
          configMap: await configMap("after", {
            matchImages: e.matchImages ?? base,
            ...(e.matching === undefined ? {} : { matching: e.matching }),
          }),
          secret: await secret("after", e.auths ?? auths),
        };
        const restart = e.changes.includes(configFile);
        const dry = await runInstaller(applyArgs(edited, root, ["--dry-run"]));
        assert.equal(dry.error, null, dry.error?.message);
        for (const want of e.dryRun) assert.match(dry.stdout, want);
        assert.equal(dry.stdout.includes(noRestart), !restart, dry.stdout);
        assert.equal(/^restart kubelet: /m.test(dry.stdout), restart, dry.stdout);
        assert.equal(dry.stdout.includes(`+++ b${configFile}`), restart, dry.stdout);
        assert.doesNotMatch(dry.stdout, /FAKE-live|fake-user|"u2"/);

        const r = await runInstaller(applyArgs(edited, root));
        assert.equal(r.error, null, r.error?.message);
        const out = JSON.parse(r.stdout) as { changed: string[]; restartPending: boolean };
        assert.deepEqual([...out.changed].sort(), [...e.changes].sort());
        assert.equal(out.restartPending, restart);
        assert.doesNotMatch(`${r.stdout}${r.logs}`, /FAKE-live|fake-user/);
        // The provider reads the edit from the policy file.
        const policy = await readFile(join(root, policyFile), "utf8");
        for (const p of (e.matchImages ?? base).split("\n")) {
          assert.ok(policy.includes(JSON.stringify(p)), p);
        }
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});
