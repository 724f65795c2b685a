/**
 * `npm run demo`: the node side of nodecred on a machine without a cluster.
 *
 * Copies demo/kubeadm-rpm-node/ (a kubeadm node installed from the RPMs) to a temp dir, runs the
 * real installer bundle against it (dry run, then for real, then again to show it is idempotent),
 * shows what changed on the "node", runs the provider binary the installer put there with the
 * request the kubelet would send (it reads the node's policy file: matchImages + credentials), pulls
 * a real image with its answer when the test environment is running
 * (`node test/env/run.ts -- npm run demo`), shows with dry runs which ConfigMap edits need a
 * kubelet restart (a new envelope) and which reach the policy file live, and finally uninstalls.
 * Passwords are masked in everything it prints; the policy file is shown as rules and keys only.
 *
 *   npm run demo [-- --configmap FILE] [-- --secret FILE]
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { TestEnv } from "../test/env/types.ts";
import { isRefusal, layoutFor, nodecredPaths } from "../installer/core/node/flavour.ts";
import { readProviderFlags } from "../installer/core/node/kubelet-flags.ts";
import { errorText } from "../installer/errors.ts";

const repo = join(import.meta.dirname, "..");
const kubeletVersion = "v1.34.4";
const exampleImage = "registry.example.com/team/app:1.0";
/** An image in the kubelet's envelope that no matchImages pattern of the example names. */
const unlistedImage = "docker.io/library/busybox";
const noRestartLine = "no kubelet restart:";
const masked = "********";

class DemoError extends Error {}

/** The demo node's layout, from the installer's own flavour table: a kubeadm node from the RPMs. */
const layout = layoutFor("kubeadm-rpm");
if (isRefusal(layout) || layout.wiring.kind !== "flags") {
  throw new Error("kubeadm-rpm: no flags file in the flavour table");
}
const { flagsFile, variable: flagsVariable } = layout.wiring;
const providerConfigPath = layout.configPath;
const { policyFile: policyPath, stateFile } = nodecredPaths;

// --- output ----------------------------------------------------------------------------------------

/** Every value that must never be printed; `print` replaces them as a last line of defence. */
const secrets = new Set<string>();

function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join(masked);
  return out;
}

function print(text = ""): void {
  process.stdout.write(`${redact(text)}\n`);
}

function indent(text: string, prefix = "    "): string {
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => (l === "" ? l : prefix + l))
    .join("\n");
}

let sectionNumber = 0;
function section(title: string): void {
  sectionNumber += 1;
  const head = `== ${String(sectionNumber)}. ${title} `;
  print();
  print(head.padEnd(100, "="));
}

// --- processes -------------------------------------------------------------------------------------

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], input?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: repo,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", (e) => {
      reject(new DemoError(`cannot run ${cmd}: ${e.message}`));
    });
    child.once("close", (code, signal) => {
      resolve({ code: code ?? (signal === null ? 1 : 128), stdout, stderr });
    });
    // A child that exits without reading its input (EPIPE) is judged by its exit code.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input);
  });
}

function tail(text: string, lines = 8): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

async function mustRun(what: string, cmd: string, args: readonly string[]): Promise<Ran> {
  const r = await run(cmd, args);
  if (r.code !== 0) {
    throw new DemoError(
      `${what} failed (exit ${String(r.code)}):\n${indent(tail(r.stderr || r.stdout))}`,
    );
  }
  return r;
}

// --- files -----------------------------------------------------------------------------------------

interface Entry {
  readonly kind: "file" | "dir";
  readonly mode: number;
  readonly size: number;
  readonly sha256: string;
}

/** Host path → entry, for every file and directory under root. */
function snapshot(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const st = lstatSync(full);
      const hostPath = `/${relative(root, full)}`;
      if (st.isDirectory()) {
        out.set(hostPath, { kind: "dir", mode: st.mode & 0o7777, size: 0, sha256: "" });
        walk(full);
      } else {
        const sha256 = createHash("sha256").update(readFileSync(full)).digest("hex");
        out.set(hostPath, { kind: "file", mode: st.mode & 0o7777, size: st.size, sha256 });
      }
    }
  };
  walk(root);
  return out;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

/** `+` created, `~` changed, `-` removed; unchanged entries are only counted. */
function describeChanges(before: Map<string, Entry>, after: Map<string, Entry>): string[] {
  const lines: string[] = [];
  let unchanged = 0;
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(path);
    const b = after.get(path);
    const show = (mark: string, e: Entry): void => {
      const size = e.kind === "dir" ? "dir" : `${String(e.size)} B`;
      lines.push(
        `${mark} ${octal(e.mode)} ${size.padStart(10)}  ${path}${e.kind === "dir" ? "/" : ""}`,
      );
    };
    if (a === undefined && b !== undefined) show("+", b);
    else if (a !== undefined && b === undefined) show("-", a);
    else if (a !== undefined && b !== undefined) {
      if (a.mode !== b.mode || a.sha256 !== b.sha256) show("~", b);
      else unchanged += 1;
    }
  }
  lines.push(`  (${String(unchanged)} other files and directories unchanged)`);
  return lines;
}

function isStale(outputs: readonly string[], inputs: readonly string[]): boolean {
  if (!outputs.every((f) => existsSync(f))) return true;
  const oldestOutput = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const newest = (path: string): number => {
    const st = statSync(path);
    if (!st.isDirectory()) return st.mtimeMs;
    return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newest(join(path, n))));
  };
  return inputs.some((i) => existsSync(i) && newest(i) > oldestOutput);
}

// --- inputs ----------------------------------------------------------------------------------------

interface DockerAuth {
  username?: string;
  password?: string;
  auth?: string;
}

function dockerConfigOf(secretText: string, path: string): Record<string, DockerAuth> {
  try {
    const secret = parseYaml(secretText) as {
      data?: Record<string, string>;
      stringData?: Record<string, string>;
    } | null;
    const raw =
      secret?.stringData?.[".dockerconfigjson"] ??
      (secret?.data?.[".dockerconfigjson"] === undefined
        ? undefined
        : Buffer.from(secret.data[".dockerconfigjson"], "base64").toString());
    if (raw === undefined) return {};
    const parsed = JSON.parse(raw) as { auths?: Record<string, DockerAuth> } | null;
    return parsed?.auths ?? {};
  } catch {
    // The installer validates the Secret and reports its problems properly; the demo only needs
    // the passwords to mask, and an unparsable Secret yields none.
    process.stderr.write(`demo: note: cannot read the registries of ${path}\n`);
    return {};
  }
}

function rememberSecrets(auths: Record<string, DockerAuth>): void {
  for (const a of Object.values(auths)) {
    if (a.password !== undefined) secrets.add(a.password);
    if (a.auth !== undefined) {
      secrets.add(a.auth);
      const decoded = Buffer.from(a.auth, "base64").toString();
      const i = decoded.indexOf(":");
      if (i >= 0) secrets.add(decoded.slice(i + 1));
    }
    if (a.username !== undefined && a.password !== undefined) {
      secrets.add(Buffer.from(`${a.username}:${a.password}`).toString("base64"));
    }
  }
}

function loadTestEnv(): TestEnv | null {
  const file = process.env["NODECRED_TEST_ENV"];
  if (file === undefined || file === "") return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as TestEnv;
  } catch (e) {
    throw new DemoError(`NODECRED_TEST_ENV=${file} is not readable: ${(e as Error).message}`);
  }
}

// --- installer and provider ------------------------------------------------------------------------

interface LogLine {
  level?: string;
  msg?: string;
  action?: string;
  path?: string;
  unit?: string;
  reason?: string;
  problems?: string[];
}

/** The installer's JSON log lines, one short line each. */
function describeLog(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      let e: LogLine;
      try {
        e = JSON.parse(l) as LogLine;
      } catch {
        return l;
      }
      const where = [e.action, e.path ?? e.unit].filter((x) => x !== undefined).join(" ");
      const problems = (e.problems ?? []).map((p) => `\n      - ${p}`).join("");
      return `[${e.level ?? "?"}] ${e.msg ?? ""}${where === "" ? "" : `: ${where}`}${problems}`;
    });
}

interface ApplySummary {
  flavour: string;
  kubeletConfigHash: string;
  changed: string[];
  restarted: boolean;
  restartPending: boolean;
}

interface ProviderResponse {
  kind: string;
  apiVersion: string;
  cacheKeyType: string;
  cacheDuration?: string;
  auth?: Record<string, { username?: string; password?: string }>;
}

function maskResponse(r: ProviderResponse): ProviderResponse {
  const auth: Record<string, { username?: string; password?: string }> = {};
  for (const [k, v] of Object.entries(r.auth ?? {})) {
    auth[k] = { ...v, ...(v.password === undefined ? {} : { password: masked }) };
  }
  return { ...r, auth };
}

function goArch(): string {
  if (process.arch === "x64") return "amd64";
  if (process.arch === "arm64") return "arm64";
  throw new DemoError(`no provider build for this machine's architecture (${process.arch})`);
}

// --- the demo --------------------------------------------------------------------------------------

/** What every step of the demo works with. */
interface Demo {
  readonly work: string;
  /** The demo node's host root. */
  readonly node: string;
  readonly env: TestEnv | null;
  readonly installer: string;
  readonly providerBinary: string;
  /** Paths as the reader should see them: the demo node as $NODE, the repository relative. */
  readonly shown: (text: string) => string;
}

/** The demo's inputs, with the test environment's registry added when there is one. */
interface Inputs {
  readonly configMapFile: string;
  readonly secretFile: string;
  /** The Secret's registries (every password in them is masked in what the demo prints). */
  readonly auths: Record<string, DockerAuth>;
  readonly pullTarget: { image: string; repo: string; caDir: string } | null;
}

function commandLine(d: Demo, args: readonly string[]): string {
  return `nodecred-installer ${args.map((a) => d.shown(a)).join(" ")}`;
}

function installerRun(d: Demo, args: readonly string[]): Promise<Ran> {
  return run(process.execPath, [d.installer, ...args]);
}

function failIfNonZero(what: string, r: Ran): void {
  if (r.code === 0) return;
  throw new DemoError(
    `${what} exited ${String(r.code)} (exit codes: installer/README.md):\n` +
      indent(describeLog(r.stderr).join("\n")),
  );
}

/** 1. dist/ as `npm run build` makes it, rebuilt when older than the sources. */
async function build(): Promise<{ installer: string; providerBinary: string }> {
  section("Build");
  const installer = join(repo, "dist", "installer", "nodecred-installer.mjs");
  const providerBinary = join(repo, "dist", "bin", `nodecred-provider-linux-${goArch()}`);
  const outputs = [installer, providerBinary];
  const inputs = ["installer", "provider", "scripts/build.sh", "scripts/build-provider.sh"].map(
    (p) => join(repo, p),
  );
  if (isStale(outputs, [...inputs, join(repo, "scripts", "build-installer.sh")])) {
    print("dist/ is missing or older than the sources: npm run build");
    const r = await mustRun("npm run build", "bash", ["scripts/build.sh"]);
    print(indent(`${r.stderr}${r.stdout}`));
  } else {
    print("dist/ is up to date with the sources (npm run build rebuilds it).");
  }
  for (const f of outputs) print(`    ${relative(repo, f)} (${String(statSync(f).size)} bytes)`);
  return { installer, providerBinary };
}

/** 2. The demo node, copied from demo/; its files and kubelet flags before nodecred. */
function showNode(node: string): { before: Map<string, Entry>; flagsBefore: string } {
  section("The node before: kubeadm from the RPMs on Rocky Linux 9");
  cpSync(join(repo, "demo", "kubeadm-rpm-node"), node, { recursive: true });
  const fixModes = (dir: string): void => {
    chmodSync(dir, 0o755);
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) fixModes(p);
      else chmodSync(p, 0o644);
    }
  };
  fixModes(node);
  const before = snapshot(node);
  const flagsBefore = readFileSync(join(node, flagsFile), "utf8");
  for (const [path, e] of before) {
    if (e.kind === "file") print(`    ${octal(e.mode)}  ${path}`);
  }
  print();
  print(`${flagsFile} (the RPM's place for extra kubelet flags):`);
  print(indent(flagsBefore));
  print("kubeadm's drop-in runs the kubelet with $KUBELET_EXTRA_ARGS last, so flags there win:");
  const dropIn = readFileSync(
    join(node, "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"),
    "utf8",
  );
  print(
    indent(
      dropIn
        .split("\n")
        .filter((l) => l.startsWith("ExecStart=/"))
        .join("\n"),
    ),
  );
  return { before, flagsBefore };
}

/**
 * The local TLS registry of the test environment joins the example: its host is added to
 * matchImages and its credentials to the Secret, so the provider's answer can pull for real.
 */
function withTestRegistry(d: Demo, env: TestEnv, given: Inputs): Inputs {
  const reg = env.registry.tls;
  secrets.add(reg.password);
  rememberSecrets({ [reg.host]: { username: reg.username, password: reg.password } });
  const cm = parseYaml(readFileSync(given.configMapFile, "utf8")) as {
    data: Record<string, string>;
  };
  cm.data["matchImages"] = `${(cm.data["matchImages"] ?? "").trimEnd()}\n${reg.host}\n`;
  const configMapFile = join(d.work, "configmap.yaml");
  writeFileSync(configMapFile, stringifyYaml(cm));
  const all = { ...given.auths, [reg.host]: { username: reg.username, password: reg.password } };
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "nodecred-credentials", namespace: "nodecred" },
    type: "kubernetes.io/dockerconfigjson",
    stringData: { ".dockerconfigjson": JSON.stringify({ auths: all }) },
  };
  const secretFile = join(d.work, "secret.yaml");
  writeFileSync(secretFile, stringifyYaml(secret), { mode: 0o600 });
  print(`Test environment found: its TLS registry ${reg.host} is added to both inputs.`);
  return {
    configMapFile,
    secretFile,
    auths: all,
    pullTarget: {
      image: `${reg.host}/${env.image.repository}:${env.image.tag}`,
      repo: `${reg.host}/${env.image.repository}`,
      caDir: reg.caDir ?? "",
    },
  };
}

/** 3. The ConfigMap and the Secret, as given (or the examples), and what they hold. */
function showInputs(d: Demo, configMap: string, secret: string): Inputs {
  section("Inputs: the ConfigMap and the Secret");
  const auths = dockerConfigOf(readFileSync(secret, "utf8"), secret);
  rememberSecrets(auths);
  const given: Inputs = { configMapFile: configMap, secretFile: secret, auths, pullTarget: null };
  const inputs = d.env === null ? given : withTestRegistry(d, d.env, given);
  const cmData =
    (parseYaml(readFileSync(inputs.configMapFile, "utf8")) as { data?: object }).data ?? {};
  print(`ConfigMap ${d.shown(inputs.configMapFile)}, data:`);
  print(indent(stringifyYaml(cmData)));
  print(`Secret ${d.shown(inputs.secretFile)} (kubernetes.io/dockerconfigjson), registries:`);
  for (const [key, a] of Object.entries(inputs.auths)) {
    print(`    ${key}  username ${a.username ?? "(in auth)"}  password ${masked}`);
  }
  return inputs;
}

/** 4. and 5. A dry run that touches nothing, then apply, twice (the second changes nothing). */
async function dryRunAndApply(
  d: Demo,
  applyArgs: readonly string[],
  before: Map<string, Entry>,
): Promise<void> {
  section("Dry run: the plan, nothing touched");
  print(`$ ${commandLine(d, [...applyArgs, "--dry-run"])}`);
  const dry = await installerRun(d, [...applyArgs, "--dry-run"]);
  failIfNonZero("nodecred-installer apply --dry-run", dry);
  print(indent(dry.stdout));
  if (snapshot(d.node).size !== before.size) throw new DemoError("the dry run changed the node");

  section("Apply");
  print(`$ ${commandLine(d, applyArgs)}`);
  const applied = await installerRun(d, applyArgs);
  failIfNonZero("nodecred-installer apply", applied);
  print(indent(describeLog(applied.stderr).join("\n")));
  const summary = JSON.parse(applied.stdout) as ApplySummary;
  print();
  print(`flavour ${summary.flavour}, kubelet config hash ${summary.kubeletConfigHash}`);
  print(`changed: ${summary.changed.join(", ")}`);
  print(
    `kubelet restart: ${summary.restartPending ? "pending" : "not needed"} (--restart none here;` +
      " in a cluster the apply init container restarts it and waits until it is healthy)",
  );
  const again = await installerRun(d, applyArgs);
  failIfNonZero("nodecred-installer apply (second run)", again);
  const second = JSON.parse(again.stdout) as ApplySummary;
  print(
    `apply again: ${String(second.changed.length)} files changed (every write is compare-first)`,
  );
}

/** 6. The node's files against the copy, the flags' diff, the config and the policy file. */
async function showChanges(
  d: Demo,
  before: Map<string, Entry>,
  flagsBefore: string,
): Promise<string> {
  section("What changed on the node");
  print(indent(describeChanges(before, snapshot(d.node)).join("\n"), "  "));
  print();
  print(`kubelet flags, ${flagsFile}:`);
  writeFileSync(join(d.work, "kubelet.before"), flagsBefore);
  const diff = await run("diff", [
    "-u",
    "--label",
    `a${flagsFile}`,
    "--label",
    `b${flagsFile}`,
    join(d.work, "kubelet.before"),
    join(d.node, flagsFile),
  ]);
  if (diff.code > 1) throw new DemoError(`diff failed: ${diff.stderr}`);
  print(indent(diff.stdout));
  print(`CredentialProviderConfig, ${providerConfigPath}:`);
  const providerConfigText = readFileSync(join(d.node, providerConfigPath), "utf8");
  print(indent(providerConfigText));
  print(
    "With matching: live the kubelet registers this fixed envelope (every host of 1 to 7" +
      " dot-segments,\non each port matchImages use) and runs nodecred for every such pull;" +
      " nodecred applies\nmatchImages itself, from the policy file.",
  );
  print();
  const policyMode = statSync(join(d.node, policyPath)).mode & 0o777;
  const policy = JSON.parse(readFileSync(join(d.node, policyPath), "utf8")) as {
    matchImages: string[];
    auths: object;
  };
  print(`Policy file, ${policyPath} (mode ${octal(policyMode)}; rules and keys only):`);
  for (const m of policy.matchImages) print(`    matchImages ${m}`);
  for (const key of Object.keys(policy.auths)) print(`    credentials for ${key} (not shown)`);
  return providerConfigText;
}

/** The provider the node's kubelet runs, as it runs it: its path, its args, its apiVersion. */
interface InstalledProvider {
  readonly name: string;
  readonly path: string;
  readonly args: readonly string[];
  readonly apiVersion: string;
  /** Its `--policy=…` argument. */
  readonly policyArg: string;
}

/** The provider as the node's kubelet flags and CredentialProviderConfig name it. */
function installedProvider(d: Demo, providerConfigText: string): InstalledProvider {
  const flagsAfter = readFileSync(join(d.node, flagsFile), "latin1");
  const { binDir } = readProviderFlags(flagsAfter, flagsVariable);
  const providerConfig = parseYaml(providerConfigText) as {
    providers: { name: string; apiVersion: string; args?: string[] }[];
  };
  const entry = providerConfig.providers[0];
  if (binDir === null || entry === undefined) {
    throw new DemoError(`${flagsFile} or ${providerConfigPath} is not wired as expected`);
  }
  // The args name host paths; on the demo node they live under $NODE.
  const args = (entry.args ?? []).map((a) => a.replace(/=\//, `=${d.node}/`));
  const policyArg = args.find((a) => a.startsWith("--policy="));
  if (policyArg === undefined) {
    throw new DemoError(`${providerConfigPath} does not pass the provider --policy=`);
  }
  const path = join(d.node, binDir, entry.name);
  return { name: entry.name, path, args, apiVersion: entry.apiVersion, policyArg };
}

/** Runs the provider with the request the kubelet would send for `image`; prints it masked. */
async function ask(d: Demo, provider: InstalledProvider, image: string): Promise<ProviderResponse> {
  // Exactly what the kubelet writes: the image without tag or digest, kind first, a newline.
  const request = `${JSON.stringify({ kind: "CredentialProviderRequest", apiVersion: provider.apiVersion, image })}\n`;
  print(`$ echo '${request.trimEnd()}' \\`);
  print(`    | ${d.shown(provider.path)} ${provider.args.map(d.shown).join(" ")}`);
  const r = await run(provider.path, provider.args, request);
  if (r.code !== 0) {
    throw new DemoError(`the provider exited ${String(r.code)}:\n${indent(tail(r.stderr))}`);
  }
  const response = JSON.parse(r.stdout) as ProviderResponse;
  print(indent(JSON.stringify(maskResponse(response), null, 2)));
  if (Object.keys(response.auth ?? {}).length > 0) {
    print(`    (passwords masked by the demo; the kubelet gets them in clear)`);
  }
  return response;
}

/** 7. The provider's answers: a listed image, an unlisted one, and `--check`'s explanation. */
async function providerAnswers(
  d: Demo,
  providerConfigText: string,
  auths: Record<string, DockerAuth>,
): Promise<InstalledProvider> {
  section("The installed provider answers the kubelet's request");
  const provider = installedProvider(d, providerConfigText);
  print(`Pod image ${exampleImage} matches matchImages, so the kubelet runs ${provider.name}:`);
  const answer = await ask(d, provider, exampleImage.replace(/:[^:/]+$/, ""));
  const got = answer.auth?.["registry.example.com"];
  const want = auths["registry.example.com"];
  if (got !== undefined && want !== undefined) {
    print(
      got.password === want.password && got.username === want.username
        ? "The answer holds the Secret's username and password for registry.example.com."
        : "The answer does NOT hold the Secret's credentials for registry.example.com.",
    );
  }
  print();
  print(
    `Pod image ${unlistedImage}: inside the envelope, so the kubelet runs ${provider.name} too:`,
  );
  const unlisted = await ask(d, provider, unlistedImage);
  if (Object.keys(unlisted.auth ?? {}).length > 0) {
    throw new DemoError(`the provider answered ${unlistedImage} with credentials`);
  }
  print(
    "No matchImages rule names it: an empty answer, not cached; the kubelet pulls it as before.",
  );
  print();
  print("`--check --image` explains a decision (rules and registry keys, never a secret):");
  const checkArgs = ["--check", provider.policyArg, "--image", exampleImage];
  print(`$ ${d.shown(provider.path)} ${checkArgs.map(d.shown).join(" ")}`);
  const checked = await run(provider.path, checkArgs);
  if (checked.code !== 0) {
    throw new DemoError(
      `the provider's --check exited ${String(checked.code)}:\n${indent(tail(checked.stderr))}`,
    );
  }
  print(indent(d.shown(checked.stdout)));
  return provider;
}

/** 8. With the test environment: refused without credentials, pulled with the provider's answer. */
async function pull(
  d: Demo,
  provider: InstalledProvider,
  target: NonNullable<Inputs["pullTarget"]>,
  tag: string,
): Promise<void> {
  const { image, caDir } = target;
  const refused = await run("skopeo", [
    "inspect",
    "--raw",
    "--no-creds",
    "--cert-dir",
    caDir,
    `docker://${image}`,
  ]);
  // skopeo's message ends with the registry's reason, e.g. `...: authentication required"`.
  const reason = tail(refused.stderr, 1).split(": ").pop()?.replace(/"$/, "") ?? "";
  if (refused.code === 0) {
    throw new DemoError(`the registry serves ${image} without credentials: nothing to prove`);
  }
  print(`Without credentials the registry refuses the pull: ${reason}`);
  print();
  const local = await ask(d, provider, target.repo);
  const authFile = join(d.work, "auth.json");
  const fileAuths: Record<string, { auth: string }> = {};
  for (const [k, v] of Object.entries(local.auth ?? {})) {
    fileAuths[k] = {
      auth: Buffer.from(`${v.username ?? ""}:${v.password ?? ""}`).toString("base64"),
    };
  }
  writeFileSync(authFile, JSON.stringify({ auths: fileAuths }), { mode: 0o600 });
  const layout = join(d.work, "pulled");
  print();
  print(`$ skopeo copy --src-authfile <the answer> docker://${image} oci:<dir>:${tag}`);
  await mustRun("skopeo copy", "skopeo", [
    "copy",
    "--quiet",
    "--src-cert-dir",
    caDir,
    "--src-authfile",
    authFile,
    `docker://${image}`,
    `oci:${layout}:${tag}`,
  ]);
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as {
    manifests: { digest: string }[];
  };
  print(
    `Pulled ${image} with the provider's answer: manifest ${index.manifests[0]?.digest ?? "?"}`,
  );
}

/**
 * In a cluster the apply init container restarts the kubelet and then clears the pending
 * restart in the state file; the demo has no kubelet, so it clears it itself, or every dry run
 * after it would still announce the restart the first apply left pending.
 */
function clearPendingRestart(d: Demo): void {
  const statePath = join(d.node, stateFile);
  const state = JSON.parse(readFileSync(statePath, "utf8")) as { pendingRestart: boolean };
  writeFileSync(statePath, `${JSON.stringify({ ...state, pendingRestart: false }, null, 2)}\n`);
  print("The demo has no kubelet to restart: it marks the restart the first apply left pending as");
  print(`done in ${stateFile}, as apply does once the restarted kubelet is healthy.`);
}

/** Two matchImages edits: one inside the envelope, one on a port no pattern used. */
function matchImagesEdits(configMapFile: string): {
  base: { data: Record<string, string> };
  patterns: string[];
  edits: { what: string; pattern: string; restart: boolean }[];
} {
  const base = parseYaml(readFileSync(configMapFile, "utf8")) as { data: Record<string, string> };
  const patterns = (base.data["matchImages"] ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const usedPorts = new Set(patterns.map((p) => /^[^/]*:(\d+)(\/|$)/.exec(p)?.[1] ?? ""));
  const newPort = ["5000", "5001", "8443", "9443"].find((p) => !usedPorts.has(p)) ?? "5000";
  return {
    base,
    patterns,
    edits: [
      {
        what: "a registry with no port: inside the envelope",
        pattern: "*.mirror.example.com/team",
        restart: false,
      },
      {
        what: `a registry on port ${newPort}, which no pattern used: a new envelope`,
        pattern: `mirror.example.com:${newPort}`,
        restart: true,
      },
    ],
  };
}

/** 9. Each edit as a dry run against the node: live (policy file only) or a kubelet restart. */
async function liveEdits(
  d: Demo,
  configMapFile: string,
  applyArgs: readonly string[],
): Promise<void> {
  section("Editing the ConfigMap: live, or a kubelet restart (dry runs)");
  clearPendingRestart(d);
  print("Then two edits of matchImages, each shown as a dry run against that node:");
  const { base, patterns, edits } = matchImagesEdits(configMapFile);
  for (const [i, edit] of edits.entries()) {
    const file = join(d.work, `configmap-edit-${String(i + 1)}.yaml`);
    const data = { ...base.data, matchImages: `${[...patterns, edit.pattern].join("\n")}\n` };
    writeFileSync(file, stringifyYaml({ ...base, data }));
    const args = [...applyArgs, "--dry-run"];
    args.splice(args.indexOf(configMapFile), 1, file);
    print();
    print(`matchImages + ${edit.pattern} (${edit.what}):`);
    print(`$ ${commandLine(d, args)}`);
    const r = await installerRun(d, args);
    failIfNonZero("nodecred-installer apply --dry-run (edited ConfigMap)", r);
    print(indent(r.stdout));
    const restarts = /^restart /m.test(r.stdout);
    if (restarts !== edit.restart || r.stdout.includes(noRestartLine) === edit.restart) {
      throw new DemoError(
        `expected ${edit.restart ? "a kubelet restart" : "no kubelet restart"} for ${edit.pattern}`,
      );
    }
    print(
      edit.restart
        ? "The kubelet's config changes (its envelope gains the port): the DaemonSet rolls this out with a\nkubelet restart, node by node."
        : "Only the policy file changes: the sync container writes it within a second and the next pull\nuses it. No kubelet restart, no rollout.",
    );
  }
}

/** 10. Uninstall, and the node compared with the copy it started as. */
async function uninstall(d: Demo, before: Map<string, Entry>): Promise<void> {
  section("Uninstall: the node as it was");
  const uninstallArgs = ["uninstall", "--host-root", d.node, "--restart", "none"];
  print(`$ ${commandLine(d, uninstallArgs)}`);
  const removed = await installerRun(d, uninstallArgs);
  failIfNonZero("nodecred-installer uninstall", removed);
  const left = describeChanges(before, snapshot(d.node));
  if (left.length > 1) {
    throw new DemoError(`uninstall left differences on the node:\n${indent(left.join("\n"))}`);
  }
  print(`${flagsFile} is byte-identical to the original; nothing of nodecred is left on the node`);
  print(`(the policy file, the config, the binary and ${stateFile} are gone).`);
}

async function demo(work: string): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      configmap: { type: "string", default: join(repo, "manifests", "configmap.yaml") },
      secret: { type: "string", default: join(repo, "demo", "secret.example.yaml") },
    },
  });
  const env = loadTestEnv();
  const node = join(work, "node");
  const shown = (text: string): string => {
    const t = text.split(node).join("$NODE").split(work).join("$TMP");
    return t.startsWith(`${repo}/`) ? relative(repo, t) : t;
  };

  print("nodecred demo: the node side of nodecred, on a copy of a kubeadm node in a temp dir.");
  print(`Temp dir ${work} ($TMP below); the demo node is $TMP/node ($NODE below).`);
  const d: Demo = { work, node, env, shown, ...(await build()) };
  const { before, flagsBefore } = showNode(node);
  const inputs = showInputs(d, values.configmap, values.secret);
  const applyArgs = [
    ...["apply", "--host-root", node, "--configmap", inputs.configMapFile],
    ...["--secret", inputs.secretFile, "--restart", "none", "--kubelet-version", kubeletVersion],
    ...["--provider-binary", d.providerBinary],
  ];
  await dryRunAndApply(d, applyArgs, before);
  const providerConfigText = await showChanges(d, before, flagsBefore);
  const provider = await providerAnswers(d, providerConfigText, inputs.auths);

  section("Pull a real image with the provider's answer");
  if (env === null || inputs.pullTarget === null) {
    print("Skipped: no test environment (NODECRED_TEST_ENV is not set). To include this step:");
    print("    node test/env/run.ts -- npm run demo");
  } else {
    await pull(d, provider, inputs.pullTarget, env.image.tag);
  }
  await liveEdits(d, inputs.configMapFile, applyArgs);
  await uninstall(d, before);

  print();
  print("Demo done. In a cluster the same installer runs as the DaemonSet's apply init container");
  print(
    "(kubectl apply -k manifests/), and the sync container keeps every node's policy file in step",
  );
  print("with the Secret and matchImages.");
}

// --- main ------------------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), "nodecred-demo-"));
const cleanUp = (): void => {
  rmSync(work, { recursive: true, force: true });
};
// Also on a crash that bypasses `finally` (an unhandled 'error' event).
process.once("exit", cleanUp);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    cleanUp();
    process.stderr.write(`demo: interrupted (${signal}); temp dir removed\n`);
    process.exit(130);
  });
}
try {
  await demo(work);
  process.exitCode = 0;
} catch (e) {
  const message = e instanceof DemoError ? e.message : `unexpected error: ${errorText(e)}`;
  process.stderr.write(`${redact(`\ndemo failed: ${message}`)}\n`);
  process.exitCode = 1;
} finally {
  cleanUp();
  print(`(temp dir ${work} removed)`);
}
