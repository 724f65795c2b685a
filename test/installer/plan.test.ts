/**
 * The planner (installer/core/plan/plan.ts) as named tables. apply: what is created, updated,
 * chmodded, left alone and removed, which directories are made or fixed, and when the kubelet
 * must restart and why. uninstall: every rule of planUninstall's header (what is removed, restored
 * from its backup, taken out in place, or refused), in which order. The inputs come from the real
 * core (desiredNodeState, editKubeletFlagsFile, the renderer); what is asserted is the plan.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CurrentFile, DesiredState } from "../../installer/core/plan/desired-state.ts";
import { desiredNodeState } from "../../installer/core/plan/desired-state.ts";
import {
  planApply,
  planUninstall,
  uninstallInputs,
  type CurrentDir,
  type Plan,
} from "../../installer/core/plan/plan.ts";
import {
  isRefusal,
  layoutFor,
  nodecredPaths,
  type FlavourName,
  type Layout,
} from "../../installer/core/node/flavour.ts";
import { editKubeletFlagsFile } from "../../installer/core/node/kubelet-flags.ts";
import { bytesOf, byteString } from "../../installer/core/node/byte-string.ts";
import { parseSettings } from "../../installer/core/settings/configmap.ts";
import type { Problem } from "../../installer/core/problems.ts";
import {
  backupPathFor,
  emptyState,
  sha256Hex,
  withFile,
  type NodeState,
  type OwnedFile,
} from "../../installer/core/node/state.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function layoutOf(flavour: FlavourName): Layout {
  const l = layoutFor(flavour);
  if (isRefusal(l)) assert.fail(l.reason);
  return l;
}

const rpm = layoutOf("kubeadm-rpm");
const deb = layoutOf("kubeadm-deb");
const flagsFile = "/etc/sysconfig/kubelet";
/** The node's own flags file before nodecred (the kubeadm RPM's, with one flag of the admin's). */
const nodeFlags = "KUBELET_EXTRA_ARGS=--max-pods=50\n";
const p = {
  binary: "/etc/nodecred/bin/nodecred",
  policy: nodecredPaths.policyFile,
  config: rpm.configPath,
  flags: flagsFile,
} as const;

function desiredFor(providerBinary: string): DesiredState {
  const settings = parseSettings({ matchImages: "reg.example.test" });
  if (!settings.ok) assert.fail("settings");
  const d = desiredNodeState({
    settings: settings.value,
    credentials: [{ key: "reg.example.test", username: "fake-user", password: "FAKE-pw" }],
    providerBinary: enc(providerBinary),
    layout: rpm,
    unit: "kubelet",
    current: new Map([[flagsFile, { bytes: enc(nodeFlags), mode: 0o640 }]]),
    state: null,
  });
  if (!d.ok) assert.fail(JSON.stringify(d.problems));
  return d.value;
}

const desired = desiredFor("provider v1");
const want = (path: string): Uint8Array => {
  const f = desired.files.find((x) => x.path === path);
  if (f === undefined) assert.fail(`no desired ${path}`);
  return f.bytes;
};

type Files = Map<string, CurrentFile | null>;
type Dirs = Map<string, CurrentDir | null>;

/** The host as apply leaves it: every desired file and directory, bytes and modes as wanted. */
function converged(): { files: Files; dirs: Dirs } {
  return {
    files: new Map(desired.files.map((f) => [f.path, { bytes: f.bytes, mode: f.mode }])),
    dirs: new Map(desired.dirs.map((d) => [d.path, { mode: d.mode }])),
  };
}

/** The converged host with these files and directories changed (null: absent). */
function convergedWith(
  files: Readonly<Record<string, CurrentFile | null>>,
  dirs: Readonly<Record<string, CurrentDir | null>> = {},
): () => { files: Files; dirs: Dirs } {
  return () => {
    const h = converged();
    for (const [k, v] of Object.entries(files)) h.files.set(k, v);
    for (const [k, v] of Object.entries(dirs)) h.dirs.set(k, v);
    return h;
  };
}

/** The host before nodecred: only /etc, /etc/sysconfig and the node's flags file. */
function fresh(): { files: Files; dirs: Dirs } {
  const { files, dirs } = converged();
  for (const k of files.keys()) files.set(k, null);
  files.set(flagsFile, { bytes: enc(nodeFlags), mode: 0o640 });
  for (const k of dirs.keys()) if (k.startsWith("/etc/nodecred")) dirs.set(k, null);
  return { files, dirs };
}

const created = (path: string, role: OwnedFile["role"], bytes: Uint8Array): OwnedFile => ({
  path,
  role,
  origin: "created",
  backup: null,
  originalMode: null,
  writtenSha256: sha256Hex(bytes),
});

/** What planApply decided, in a form a table can state. */
function summary(plan: Plan): {
  mkdirs: string[];
  writes: string[];
  removals: string[];
  restart: readonly string[] | null;
} {
  return {
    mkdirs: plan.mkdirs.map((d) => d.path),
    writes: plan.writes.map((w) => `${w.action} ${w.path}`),
    removals: plan.removals.map((r) => r.path),
    restart: plan.restart?.reasons ?? null,
  };
}

const pendingReason = "an earlier run changed the kubelet's wiring and did not finish its restart";

describe("planApply: compare-first, and a restart only for the kubelet's wiring", () => {
  const table: {
    name: string;
    host: () => { files: Files; dirs: Dirs };
    state?: NodeState;
    want: ReturnType<typeof summary>;
  }[] = [
    {
      name: "a fresh node: our files created, the node's flags file updated, our dirs made, one restart for both wiring files",
      host: fresh,
      want: {
        mkdirs: ["/etc/nodecred", "/etc/nodecred/bin", "/etc/nodecred/credentials"],
        writes: [
          `create ${p.binary}`,
          `create ${p.policy}`,
          `create ${p.config}`,
          `update ${p.flags}`,
        ],
        removals: [],
        restart: [`provider-config ${p.config} created`, `kubelet-flags ${p.flags} updated`],
      },
    },
    {
      name: "converged: nothing at all",
      host: converged,
      want: { mkdirs: [], writes: [], removals: [], restart: null },
    },
    {
      name: "a new provider binary: updated, no restart (the kubelet execs it on each pull)",
      host: convergedWith({ [p.binary]: { bytes: enc("provider v0"), mode: 0o755 } }),
      want: { mkdirs: [], writes: [`update ${p.binary}`], removals: [], restart: null },
    },
    {
      name: "a rotated password: the policy file updated, no restart (the provider reads it per pull)",
      host: convergedWith({ [p.policy]: { bytes: enc("{}\n"), mode: 0o600 } }),
      want: { mkdirs: [], writes: [`update ${p.policy}`], removals: [], restart: null },
    },
    {
      name: "the config's bytes changed: updated, and the kubelet restarts to read it",
      host: convergedWith({ [p.config]: { bytes: enc("# edited\n"), mode: 0o644 } }),
      want: {
        mkdirs: [],
        writes: [`update ${p.config}`],
        removals: [],
        restart: [`provider-config ${p.config} updated`],
      },
    },
    {
      name: "the config's mode only: chmod, and a chmod is no reason to restart",
      host: convergedWith({ [p.config]: { bytes: want(p.config), mode: 0o600 } }),
      want: { mkdirs: [], writes: [`chmod ${p.config}`], removals: [], restart: null },
    },
    {
      name: "the flags file's mode only: chmod, no restart",
      host: convergedWith({ [p.flags]: { bytes: want(p.flags), mode: 0o600 } }),
      want: { mkdirs: [], writes: [`chmod ${p.flags}`], removals: [], restart: null },
    },
    {
      name: "a mode with its file-type bits (as stat gives it) is compared on the permission bits",
      host: convergedWith(
        { [p.config]: { bytes: want(p.config), mode: 0o100644 } },
        { ["/etc/nodecred/credentials"]: { mode: 0o40700 } },
      ),
      want: { mkdirs: [], writes: [], removals: [], restart: null },
    },
    {
      name: "our directory at the wrong mode is fixed; someone else's is left as it is",
      host: convergedWith(
        {},
        { ["/etc/nodecred/credentials"]: { mode: 0o755 }, ["/etc/sysconfig"]: { mode: 0o700 } },
      ),
      want: { mkdirs: ["/etc/nodecred/credentials"], writes: [], removals: [], restart: null },
    },
    {
      name: "a file we created that is no longer wanted (a renamed provider's binary) is removed",
      host: convergedWith({ ["/etc/nodecred/bin/old-name"]: { bytes: enc("old"), mode: 0o755 } }),
      state: withFile(
        emptyState("kubeadm-rpm", "kubelet"),
        created("/etc/nodecred/bin/old-name", "provider-binary", enc("old")),
      ),
      want: {
        mkdirs: [],
        writes: [],
        removals: ["/etc/nodecred/bin/old-name"],
        restart: null,
      },
    },
    {
      name: "no longer wanted, and already gone: nothing to remove",
      host: converged,
      state: withFile(
        emptyState("kubeadm-rpm", "kubelet"),
        created("/etc/nodecred/bin/old-name", "provider-binary", enc("old")),
      ),
      want: { mkdirs: [], writes: [], removals: [], restart: null },
    },
    {
      name: "no longer wanted, but it was the node's before ours (modified): apply never removes it",
      host: convergedWith({ ["/etc/nodecred/bin/old-name"]: { bytes: enc("old"), mode: 0o755 } }),
      state: withFile(emptyState("kubeadm-rpm", "kubelet"), {
        ...created("/etc/nodecred/bin/old-name", "provider-binary", enc("old")),
        origin: "modified",
        backup: "/var/lib/nodecred/backup/x",
      }),
      want: { mkdirs: [], writes: [], removals: [], restart: null },
    },
    {
      name: "an earlier run's restart never finished, and nothing changed: restart, saying so",
      host: converged,
      state: { ...emptyState("kubeadm-rpm", "kubelet"), pendingRestart: true },
      want: { mkdirs: [], writes: [], removals: [], restart: [pendingReason] },
    },
    {
      name: "a pending restart and a binary update: the pending reason (the binary is none)",
      host: convergedWith({ [p.binary]: { bytes: enc("provider v0"), mode: 0o755 } }),
      state: { ...emptyState("kubeadm-rpm", "kubelet"), pendingRestart: true },
      want: { mkdirs: [], writes: [`update ${p.binary}`], removals: [], restart: [pendingReason] },
    },
    {
      name: "a pending restart and a wiring change: only the change's reason",
      host: convergedWith({ [p.config]: { bytes: enc("# edited\n"), mode: 0o644 } }),
      state: { ...emptyState("kubeadm-rpm", "kubelet"), pendingRestart: true },
      want: {
        mkdirs: [],
        writes: [`update ${p.config}`],
        removals: [],
        restart: [`provider-config ${p.config} updated`],
      },
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const { files, dirs } = row.host();
      const plan = planApply(desired, files, dirs, row.state ?? null);
      assert.deepEqual(summary(plan), row.want);
      assert.equal(plan.removalsAfterRestart, true, "apply removes only once the kubelet moved on");
      assert.deepEqual(plan.rmdirs, []);
      if (plan.restart !== null) assert.equal(plan.restart.unit, "kubelet");
    });
  }

  it("each write carries the file as it was, and the bytes and mode wanted", () => {
    const { files, dirs } = fresh();
    const plan = planApply(desired, files, dirs, null);
    const flags = plan.writes.find((w) => w.path === p.flags);
    assert.deepEqual(flags, {
      path: p.flags,
      role: "kubelet-flags",
      action: "update",
      before: { bytes: enc(nodeFlags), mode: 0o640 },
      mode: 0o640,
      bytes: want(p.flags),
    });
    assert.equal(
      text(want(p.flags)),
      "KUBELET_EXTRA_ARGS=--max-pods=50 --image-credential-provider-bin-dir=/etc/nodecred/bin --image-credential-provider-config=/etc/nodecred/credential-provider-config.yaml\n",
    );
    assert.deepEqual(
      plan.writes.map((w) => [w.path, w.before, w.mode.toString(8)]),
      [
        [p.binary, null, "755"],
        [p.policy, null, "600"],
        [p.config, null, "644"],
        [p.flags, { bytes: enc(nodeFlags), mode: 0o640 }, "640"],
      ],
    );
    assert.deepEqual(plan.mkdirs, [
      { path: "/etc/nodecred", mode: 0o755, owned: true },
      { path: "/etc/nodecred/bin", mode: 0o755, owned: true },
      { path: "/etc/nodecred/credentials", mode: 0o700, owned: true },
    ]);
  });

  it("a removal carries the file as it was, and its role", () => {
    const { files, dirs } = converged();
    files.set("/etc/nodecred/bin/old-name", { bytes: enc("old"), mode: 0o755 });
    const state = withFile(
      emptyState("kubeadm-rpm", "kubelet"),
      created("/etc/nodecred/bin/old-name", "provider-binary", enc("old")),
    );
    assert.deepEqual(planApply(desired, files, dirs, state).removals, [
      {
        path: "/etc/nodecred/bin/old-name",
        role: "provider-binary",
        before: { bytes: enc("old"), mode: 0o755 },
      },
    ]);
  });
});

// ---- uninstall ----

const backup = backupPathFor(nodecredPaths.backupDir, flagsFile);
const ourFlags = want(p.flags);
const ourConfig = want(p.config);
const ourPolicy = want(p.policy);
const ourBinary = want(p.binary);

/** The state apply leaves on the kubeadm RPM node above. */
const applied: NodeState = {
  ...emptyState("kubeadm-rpm", "kubelet"),
  providerNames: ["nodecred"],
  dirs: [
    "/var/lib/nodecred",
    "/var/lib/nodecred/backup",
    "/etc/nodecred",
    "/etc/nodecred/bin",
    "/etc/nodecred/credentials",
  ],
  files: [
    created(p.binary, "provider-binary", ourBinary),
    created(p.policy, "credentials", ourPolicy),
    created(p.config, "provider-config", ourConfig),
    {
      path: p.flags,
      role: "kubelet-flags",
      origin: "modified",
      backup,
      originalMode: 0o640,
      writtenSha256: sha256Hex(ourFlags),
    },
  ],
};

/** The host as apply left it: our files, the node's flags file edited, its backup (0600). */
function asApplied(): Files {
  return new Map<string, CurrentFile | null>([
    [p.binary, { bytes: ourBinary, mode: 0o755 }],
    [p.policy, { bytes: ourPolicy, mode: 0o600 }],
    [p.config, { bytes: ourConfig, mode: 0o644 }],
    [p.flags, { bytes: ourFlags, mode: 0o640 }],
    [backup, { bytes: enc(nodeFlags), mode: 0o600 }],
  ]);
}

/** The host as apply left it, with these files changed (null: absent). */
function asAppliedWith(files: Readonly<Record<string, CurrentFile | null>>): () => Files {
  return () => {
    const h = asApplied();
    for (const [k, v] of Object.entries(files)) h.set(k, v);
    return h;
  };
}

const fileOf = (state: NodeState, path: string): OwnedFile => {
  const f = state.files.find((x) => x.path === path);
  if (f === undefined) assert.fail(`no ${path}`);
  return f;
};
const changing = (state: NodeState, path: string, change: Partial<OwnedFile>): NodeState =>
  withFile(state, { ...fileOf(state, path), ...change });

const proxyLine = "HTTPS_PROXY=http://proxy.example.test:3128\n";
/** Another provider, as an admin would add it to a config of ours. */
const theirProvider = `  - name: acme-provider
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages:
      - "*.acme.example.test"
    defaultCacheDuration: 5m
`;

/** The deb node without /etc/default/kubelet: nodecred created the flags file. */
const createdFlags = ((): string => {
  const r = editKubeletFlagsFile(
    null,
    "KUBELET_EXTRA_ARGS",
    { configPath: deb.configPath, binDir: deb.binDir },
    "/etc/default/kubelet",
  );
  if (!r.ok) assert.fail("flags");
  return r.value;
})();
const debState: NodeState = {
  ...emptyState("kubeadm-deb", "kubelet"),
  providerNames: ["nodecred"],
  files: [created("/etc/default/kubelet", "kubelet-flags", bytesOf(createdFlags))],
};

interface UninstallRow {
  readonly name: string;
  readonly state: NodeState;
  readonly layout?: Layout | null;
  readonly host: () => Files;
  /** `restore PATH MODE` + the bytes, `remove PATH`, in plan order; or the problems. */
  readonly want:
    | {
        readonly writes: readonly [string, string][];
        readonly removals: readonly string[];
        readonly restart: readonly string[] | null;
      }
    | { readonly problems: readonly [string, RegExp][] };
}

const addedTo: UninstallRow = {
  name: "a flags file we created that someone added settings to: kept, without our flags",
  state: debState,
  host: () =>
    new Map([["/etc/default/kubelet", { bytes: enc(`${createdFlags}${proxyLine}`), mode: 0o600 }]]),
  want: {
    writes: [[`restore /etc/default/kubelet 0600`, `KUBELET_EXTRA_ARGS=""\n${proxyLine}`]],
    removals: [],
    restart: ["kubelet-flags /etc/default/kubelet restored"],
  },
};

const uninstallTable: UninstallRow[] = [
  {
    name: "as apply left it: our files removed, the node's flags file restored from its backup with its original mode, wiring first",
    state: applied,
    host: asApplied,
    want: {
      writes: [[`restore ${p.flags} 0640`, nodeFlags]],
      removals: [p.config, p.policy, p.binary],
      restart: [`kubelet-flags ${p.flags} restored`, `provider-config ${p.config} removed`],
    },
  },
  {
    name: "a modified file with no original mode recorded: restored with its backup's mode",
    state: changing(applied, p.flags, { originalMode: null }),
    host: asApplied,
    want: {
      writes: [[`restore ${p.flags} 0600`, nodeFlags]],
      removals: [p.config, p.policy, p.binary],
      restart: [`kubelet-flags ${p.flags} restored`, `provider-config ${p.config} removed`],
    },
  },
  {
    name: "the flags file changed since our write (an admin added a line): our flags taken out in place, theirs kept, the backup not used",
    state: applied,
    host: asAppliedWith({
      [p.flags]: { bytes: enc(`${text(ourFlags)}${proxyLine}`), mode: 0o644 },
    }),
    want: {
      writes: [[`restore ${p.flags} 0644`, `${nodeFlags}${proxyLine}`]],
      removals: [p.config, p.policy, p.binary],
      restart: [`kubelet-flags ${p.flags} restored`, `provider-config ${p.config} removed`],
    },
  },
  {
    name: "a modified file whose backup is gone: our flags taken out in place",
    state: applied,
    host: asAppliedWith({ [backup]: null }),
    want: {
      writes: [[`restore ${p.flags} 0640`, nodeFlags]],
      removals: [p.config, p.policy, p.binary],
      restart: [`kubelet-flags ${p.flags} restored`, `provider-config ${p.config} removed`],
    },
  },
  {
    name: "nothing of ours left in a changed flags file: no write, and no restart for it",
    state: applied,
    host: asAppliedWith({ [p.flags]: { bytes: enc(`${nodeFlags}${proxyLine}`), mode: 0o640 } }),
    want: {
      writes: [],
      removals: [p.config, p.policy, p.binary],
      restart: [`provider-config ${p.config} removed`],
    },
  },
  {
    name: "a modified file with no backup that cannot be edited in place (a binary that was the node's): refused",
    state: changing(applied, p.binary, { origin: "modified", backup: null, originalMode: 0o755 }),
    host: asApplied,
    want: { problems: [[p.binary, /^changed since nodecred wrote it and has no backup$/]] },
  },
  {
    name: "that binary changed since our write, its backup still there: refused too (the backup is older than the change; the message says no backup)",
    state: changing(applied, p.binary, {
      origin: "modified",
      backup: "/var/lib/nodecred/backup/b",
      originalMode: 0o755,
    }),
    host: asAppliedWith({
      [p.binary]: { bytes: enc("someone's own build"), mode: 0o755 },
      ["/var/lib/nodecred/backup/b"]: { bytes: enc("the node's binary"), mode: 0o600 },
    }),
    want: { problems: [[p.binary, /^changed since nodecred wrote it and has no backup$/]] },
  },
  {
    name: "a config of ours someone added a provider to: refused, naming it (it works only through our flags)",
    state: applied,
    host: asAppliedWith({
      [p.config]: { bytes: enc(`${text(ourConfig)}${theirProvider}`), mode: 0o644 },
    }),
    want: {
      problems: [
        [
          p.config,
          /^nodecred created this file, but it now also holds "acme-provider", which the kubelet reads only through nodecred's flags; move them to a config of your own first$/,
        ],
      ],
    },
  },
  {
    name: "a config of ours only re-formatted (still nothing but ours): removed",
    state: applied,
    host: asAppliedWith({
      [p.config]: { bytes: enc(`# reviewed\n${text(ourConfig)}`), mode: 0o644 },
    }),
    want: {
      writes: [[`restore ${p.flags} 0640`, nodeFlags]],
      removals: [p.config, p.policy, p.binary],
      restart: [`kubelet-flags ${p.flags} restored`, `provider-config ${p.config} removed`],
    },
  },
  {
    name: "a write of ours cut short (no hash recorded): the file holds our bytes either way, removed",
    state: changing(applied, p.config, { writtenSha256: null }),
    host: asAppliedWith({ [p.config]: { bytes: enc("half"), mode: 0o644 } }),
    want: {
      writes: [[`restore ${p.flags} 0640`, nodeFlags]],
      removals: [p.config, p.policy, p.binary],
      restart: [`kubelet-flags ${p.flags} restored`, `provider-config ${p.config} removed`],
    },
  },
  {
    name: "files already gone: nothing of ours left in them, skipped",
    state: applied,
    host: asAppliedWith({ [p.binary]: null, [p.config]: null }),
    want: {
      writes: [[`restore ${p.flags} 0640`, nodeFlags]],
      removals: [p.policy],
      restart: [`kubelet-flags ${p.flags} restored`],
    },
  },
  {
    name: "a flags file we created, unchanged: removed",
    state: debState,
    host: () => new Map([["/etc/default/kubelet", { bytes: bytesOf(createdFlags), mode: 0o644 }]]),
    want: {
      writes: [],
      removals: ["/etc/default/kubelet"],
      restart: ["kubelet-flags /etc/default/kubelet removed"],
    },
  },
  addedTo,
  {
    ...addedTo,
    name: "the same without a layout (a flavour no longer supported): the flags edited as KUBELET_EXTRA_ARGS",
    layout: null,
  },
  {
    name: "a changed flags file whose edit systemd would read differently: refused with the edit's problem",
    state: applied,
    host: asAppliedWith({
      [p.flags]: { bytes: enc(`${text(ourFlags).trimEnd()}\0\n`), mode: 0o640 },
    }),
    want: {
      problems: [
        [p.flags, /^editing KUBELET_EXTRA_ARGS would change whether systemd loads this file$/],
      ],
    },
  },
  {
    name: "every problem at once: the refused binary and the refused config",
    state: changing(applied, p.binary, { origin: "modified", backup: null }),
    host: asAppliedWith({
      [p.config]: { bytes: enc(`${text(ourConfig)}${theirProvider}`), mode: 0o644 },
    }),
    want: {
      problems: [
        [p.config, /also holds "acme-provider"/],
        [p.binary, /has no backup/],
      ],
    },
  },
  {
    name: "an earlier restart never finished and no wiring is left to undo: restart, saying so",
    state: {
      ...applied,
      pendingRestart: true,
      files: applied.files.filter((f) => f.role === "provider-binary" || f.role === "credentials"),
    },
    host: asApplied,
    want: { writes: [], removals: [p.policy, p.binary], restart: [pendingReason] },
  },
  {
    name: "the state's order does not matter: wiring first (flags, config), then policy, then binary",
    state: { ...applied, files: [...applied.files].reverse() },
    host: asApplied,
    want: {
      writes: [[`restore ${p.flags} 0640`, nodeFlags]],
      removals: [p.config, p.policy, p.binary],
      restart: [`kubelet-flags ${p.flags} restored`, `provider-config ${p.config} removed`],
    },
  },
];

describe("planUninstall: take out exactly what we added, from each file as it is now", () => {
  for (const row of uninstallTable) {
    it(row.name, () => {
      const layout = row.layout === undefined ? layoutOf(row.state.flavour) : row.layout;
      const r = planUninstall(row.state, layout, row.host());
      if ("problems" in row.want) {
        if (r.ok) assert.fail(`planned: ${JSON.stringify(summary(r.value))}`);
        assert.equal(r.problems.length, row.want.problems.length, JSON.stringify(r.problems));
        for (const [i, [path, message]] of row.want.problems.entries()) {
          const got: Problem | undefined = r.problems[i];
          assert.ok(got);
          assert.equal(got.path, path);
          assert.match(got.message, message);
        }
        return;
      }
      if (!r.ok) assert.fail(JSON.stringify(r.problems));
      const plan = r.value;
      assert.deepEqual(
        plan.writes.map((w) => [
          `${w.action} ${w.path} ${w.mode.toString(8).padStart(4, "0")}`,
          byteString(w.bytes),
        ]),
        row.want.writes,
      );
      assert.deepEqual(
        plan.removals.map((x) => x.path),
        row.want.removals,
      );
      assert.deepEqual(plan.restart?.reasons ?? null, row.want.restart);
      if (plan.restart !== null) assert.equal(plan.restart.unit, row.state.unit);
      assert.equal(plan.removalsAfterRestart, false, "uninstall removes before the restart");
      assert.deepEqual(plan.mkdirs, []);
      assert.deepEqual(plan.rmdirs, [...row.state.dirs].reverse(), "deepest first");
    });
  }

  it("a write and a removal carry the file as it was", () => {
    const r = planUninstall(applied, rpm, asApplied());
    if (!r.ok) assert.fail("refused");
    const [restore] = r.value.writes;
    assert.ok(restore);
    assert.deepEqual(restore.before, { bytes: ourFlags, mode: 0o640 });
    assert.equal(restore.role, "kubelet-flags");
    assert.deepEqual(r.value.removals[0], {
      path: p.config,
      role: "provider-config",
      before: { bytes: ourConfig, mode: 0o644 },
    });
  });
});

describe("uninstallInputs: what the uninstall planner must read", () => {
  const table: [string, NodeState, string[]][] = [
    ["nothing recorded", emptyState("k3s", "k3s"), []],
    ["created files: themselves", debState, ["/etc/default/kubelet"]],
    [
      "a modified file: itself and its backup, in the state's order",
      applied,
      [p.binary, p.policy, p.config, p.flags, backup],
    ],
    [
      "a modified file whose backup was dropped: itself only",
      changing(applied, p.flags, { backup: null, originalMode: null }),
      [p.binary, p.policy, p.config, p.flags],
    ],
  ];
  for (const [name, state, paths] of table) {
    it(name, () => {
      assert.deepEqual(uninstallInputs(state), paths);
    });
  }
});
