/**
 * A node whose PID 1 is a stand-in init, for tests that restart the kubelet for real:
 * `unshare --fork --pid --mount --mount-proc` makes fixtures/stand-in-init.js PID 1 of a fresh
 * namespace (with a stand-in systemctl and a stand-in kubelet: a real systemd cannot run here),
 * the scenario's steps run one after another inside it, and the installer's
 * `nsenter --target 1 ... systemctl restart kubelet` reaches that PID 1. Shared by
 * restart.test.ts and migration.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot, standInProvider, type GoldenCase } from "./golden.ts";

/** The repository's Node, and the installer run from source, for `raw` steps. */
export const nodeBin = join(repoRoot, "node_modules/.bin/node");
export const installerMain = join(repoRoot, "installer/main.ts");
const node = nodeBin;
const fixtures = join(repoRoot, "test/installer/fixtures");

export interface StepResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly kubeletActiveAfter: boolean;
}

export interface JournalEntry {
  readonly event: string;
  readonly fromPid1?: string;
  readonly code?: number;
  readonly verb?: string;
  readonly step?: number;
}

/**
 * One command the stand-in init runs: the installer's apply with extra flags (optionally with
 * another ConfigMap), or any argv (`raw`; PATH holds the stand-in systemctl).
 */
export type Step =
  string[] | { readonly configMap?: string; readonly extra?: string[] } | { raw: string[] };

export const canUnshare =
  spawnSync("unshare", ["--fork", "--pid", "--mount", "--mount-proc", "true"]).status === 0;

export async function runScenario(
  c: GoldenCase,
  root: string,
  steps: Step[],
): Promise<{ results: StepResult[]; journal: JournalEntry[] }> {
  const work = await mkdtemp(join(tmpdir(), "nodecred-restart-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const installer = (extra: string[], configMap = c.configMap): string[] => [
    node,
    installerMain,
    "apply",
    "--host-root",
    root,
    "--configmap",
    configMap,
    "--secret",
    c.secret,
    "--restart",
    "systemd",
    "--kubelet-version",
    "v1.31.2",
    "--provider-binary",
    standInProvider,
    "--kubelet-healthz-url",
    `http://127.0.0.1:${String(port)}/healthz`,
    "--restart-timeout",
    "10",
    ...extra,
  ];
  await writeFile(
    join(work, "scenario.json"),
    JSON.stringify({
      root,
      port,
      steps: steps.map((step) => ({
        argv: Array.isArray(step)
          ? installer(step)
          : "raw" in step
            ? step.raw
            : installer(step.extra ?? [], step.configMap),
      })),
    }),
  );
  const r = spawnSync(
    "unshare",
    ["--fork", "--pid", "--mount", "--mount-proc", node, join(fixtures, "stand-in-init.js"), work],
    {
      env: {
        ...process.env,
        PATH: `${join(fixtures, "bin")}:${process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
        NODECRED_TEST_NODE: node,
        NODECRED_TEST_INIT_SOCKET: join(work, "init.sock"),
      },
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  assert.equal(r.status, 0, `stand-in init failed: ${r.stderr}`);
  const results = JSON.parse(await readFile(join(work, "results.json"), "utf8")) as StepResult[];
  const journal = (await readFile(join(work, "journal.log"), "utf8"))
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as JournalEntry);
  await rm(work, { recursive: true, force: true });
  return { results, journal };
}

/** A step that waits until the stand-in kubelet serves healthz (it has read its config). */
export const waitForKubelet: Step = {
  raw: [
    nodeBin,
    "--input-type=module",
    "-e",
    `for (;;) {
      try { if ((await fetch(process.env.NODECRED_TEST_HEALTHZ)).ok) break; } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }`,
  ],
};

/** The journal entries of step i (after its "step" marker, before the next one). */
export function journalOfStep(journal: readonly JournalEntry[], i: number): JournalEntry[] {
  const start = journal.findIndex((e) => e.event === "step" && e.step === i);
  const end = journal.findIndex((e) => e.event === "step" && e.step === i + 1);
  return journal.slice(start + 1, end === -1 ? undefined : end);
}

/**
 * Turns on a stand-in kubelet test knob (fixtures/stand-in-kubelet.js): "reject" refuses to start
 * with a provider of that name, "crash-after-healthz" answers once and exits, "reject-arg" refuses
 * a provider with an argument starting with the value. Returns the knob file (removing it turns the
 * knob off).
 */
export async function setKnob(
  root: string,
  name: "reject" | "crash-after-healthz" | "reject-arg",
  value = "nodecred",
): Promise<string> {
  const file = join(root, "etc/stand-in-kubelet", name);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${value}\n`);
  return file;
}
