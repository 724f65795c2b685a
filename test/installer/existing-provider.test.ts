import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CurrentFile } from "../../installer/core/plan/desired-state.ts";
import {
  commandLineFromFiles,
  commandLineFromUnit,
  decideWiring,
} from "../../installer/core/node/existing-provider.ts";
import { effectiveService } from "../../installer/core/node/systemd-unit.ts";
import { isRefusal, layoutFor, type Layout } from "../../installer/core/node/flavour.ts";

const rpm = layoutFor("kubeadm-rpm");
if (isRefusal(rpm)) throw new Error("kubeadm-rpm refused");
const layout: Layout = rpm;
const extra = "/etc/sysconfig/kubelet";
const kubeadm = "/var/lib/kubelet/kubeadm-flags.env";
const kubeadmFile = kubeadm;
const file = (text: string): CurrentFile => ({
  bytes: new TextEncoder().encode(text),
  mode: 0o644,
});
const ours =
  "--image-credential-provider-config=/etc/nodecred/credential-provider-config.yaml --image-credential-provider-bin-dir=/etc/nodecred/bin";
const theirs =
  "--image-credential-provider-config=/etc/kubernetes/cp.yaml --image-credential-provider-bin-dir=/opt/cp/bin/";

type Want = "ours" | { merge: [string, string] } | { refuse: RegExp };
const cases: [string, Record<string, string | null>, Want][] = [
  ["no flags files at all", {}, "ours"],
  ["flags without provider flags", { [extra]: 'KUBELET_EXTRA_ARGS="--v=2"\n' }, "ours"],
  ["our own flags from an earlier apply", { [extra]: `KUBELET_EXTRA_ARGS="${ours}"\n` }, "ours"],
  [
    "the node's own in KUBELET_EXTRA_ARGS (trailing slash on the bin dir)",
    { [extra]: `KUBELET_EXTRA_ARGS="--v=2 ${theirs}"\n` },
    { merge: ["/etc/kubernetes/cp.yaml", "/opt/cp/bin"] },
  ],
  [
    "the node's own in kubeadm-flags.env",
    { [kubeadm]: `KUBELET_KUBEADM_ARGS="${theirs}"\n`, [extra]: "KUBELET_EXTRA_ARGS=\n" },
    { merge: ["/etc/kubernetes/cp.yaml", "/opt/cp/bin"] },
  ],
  [
    "the node's own, two-word form",
    {
      [extra]:
        'KUBELET_EXTRA_ARGS="--image-credential-provider-config /a/c.yaml --image-credential-provider-bin-dir /a/bin"\n',
    },
    { merge: ["/a/c.yaml", "/a/bin"] },
  ],
  [
    "later assignment wins: theirs replaced ours",
    { [extra]: `KUBELET_EXTRA_ARGS="${ours}"\nKUBELET_EXTRA_ARGS="${theirs}"\n` },
    { merge: ["/etc/kubernetes/cp.yaml", "/opt/cp/bin"] },
  ],
  [
    "only the config flag",
    { [extra]: 'KUBELET_EXTRA_ARGS="--image-credential-provider-config=/a/c.yaml"\n' },
    { refuse: /not --image-credential-provider-bin-dir/ },
  ],
  [
    "only the bin dir flag",
    { [extra]: 'KUBELET_EXTRA_ARGS="--image-credential-provider-bin-dir=/a/bin"\n' },
    { refuse: /not --image-credential-provider-config/ },
  ],
  [
    "relative paths",
    {
      [extra]:
        'KUBELET_EXTRA_ARGS="--image-credential-provider-config=c.yaml --image-credential-provider-bin-dir=/a/bin"\n',
    },
    { refuse: /not clean absolute paths/ },
  ],
  [
    "ours shadowing theirs (an earlier version replaced them)",
    { [kubeadm]: `KUBELET_KUBEADM_ARGS="${theirs}"\n`, [extra]: `KUBELET_EXTRA_ARGS="${ours}"\n` },
    { refuse: /would override the node's own in \/var\/lib\/kubelet\/kubeadm-flags\.env/ },
  ],
];

describe("a node's own credential provider: merge, keep ours, or refuse", () => {
  for (const [name, files, want] of cases) {
    it(name, () => {
      const current = new Map<string, CurrentFile | null>(
        Object.entries(files).map(([p, t]) => [p, t === null ? null : file(t)]),
      );
      const d = decideWiring(layout, commandLineFromFiles(layout, current));
      if (want === "ours") {
        assert.equal(d.kind, "ours");
      } else if ("merge" in want) {
        assert.equal(d.kind, "merge", d.kind === "refuse" ? d.why : "");
        assert.deepEqual([d.layout.configPath, d.layout.binDir], want.merge);
        assert.equal(d.layout.wiring.kind, "merge");
      } else {
        assert.equal(d.kind, "refuse");
        assert.match(d.why, want.refuse);
      }
    });
  }
  it("other flavours are never re-wired", () => {
    const eks = layoutFor("eks-al2");
    if (isRefusal(eks)) throw new Error("refused");
    const d = decideWiring(
      eks,
      commandLineFromFiles(eks, new Map([[extra, file(`KUBELET_EXTRA_ARGS="${theirs}"\n`)]])),
    );
    assert.equal(d.kind, "ours");
  });
});

describe("the kubelet's command line from its systemd unit", () => {
  const unitPath = "/usr/lib/systemd/system/kubelet.service";
  const dropIn = "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf";
  const unit = "[Unit]\nDescription=kubelet\n[Service]\nExecStart=/usr/bin/kubelet\n";
  const kubeadm = [
    "[Service]",
    'Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"',
    "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env",
    "EnvironmentFile=-/etc/sysconfig/kubelet",
    "ExecStart=",
    "ExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS",
    "",
  ].join("\n");
  const decide = (
    extraDropIns: [string, string][],
    envFiles: Record<string, string> = {},
    main: string = kubeadm,
  ): ReturnType<typeof decideWiring> => {
    const service = effectiveService([
      { path: unitPath, text: unit },
      { path: dropIn, text: main },
      ...extraDropIns.map(([path, text]) => ({ path, text })),
    ]);
    assert.ok(service.ok);
    const files = new Map(Object.entries(envFiles).map(([p, t]) => [p, file(t)]));
    return decideWiring(
      layout,
      commandLineFromUnit(layout, "kubelet.service", service.value, files),
    );
  };
  const etcDropIn = (name: string): string => `/etc/systemd/system/kubelet.service.d/${name}`;

  it("kubeadm's unit with our flags file: ours", () => {
    assert.equal(decide([], { [extra]: `KUBELET_EXTRA_ARGS="${ours}"\n` }).kind, "ours");
  });
  it("a drop-in writing the node's provider flags on the ExecStart= line: merged into", () => {
    const d = decide([
      [
        etcDropIn("20-cp.conf"),
        `[Service]\nExecStart=\nExecStart=/usr/bin/kubelet ${theirs} $KUBELET_EXTRA_ARGS\n`,
      ],
    ]);
    assert.equal(d.kind, "merge");
    assert.match(d.why, /ExecStart= line of kubelet\.service/);
  });
  it("a drop-in setting them through Environment=: merged into", () => {
    const d = decide([
      [etcDropIn("20-cp.conf"), `[Service]\nEnvironment="KUBELET_KUBEADM_ARGS=${theirs}"\n`],
    ]);
    assert.equal(d.kind, "merge");
  });
  it("the same variable from an environment file wins over Environment=", () => {
    const d = decide(
      [[etcDropIn("20-cp.conf"), `[Service]\nEnvironment="KUBELET_KUBEADM_ARGS=${theirs}"\n`]],
      { [kubeadmFile]: "KUBELET_KUBEADM_ARGS=--v=2\n" },
    );
    assert.equal(d.kind, "ours");
  });
  it("an ExecStart= without $KUBELET_EXTRA_ARGS: refused, our flags would do nothing", () => {
    const d = decide([
      [
        etcDropIn("20-own.conf"),
        "[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS\n",
      ],
    ]);
    assert.equal(d.kind, "refuse");
    assert.match(d.why, /does not pass \$KUBELET_EXTRA_ARGS/);
  });
  it("${KUBELET_EXTRA_ARGS} (one word, not split): refused", () => {
    const main = kubeadm.replace("$KUBELET_EXTRA_ARGS", "${KUBELET_EXTRA_ARGS}");
    assert.equal(decide([], {}, main).kind, "refuse");
  });
  it("a unit that does not read our flags file: refused", () => {
    const main = kubeadm.replace("EnvironmentFile=-/etc/sysconfig/kubelet\n", "");
    const d = decide([], {}, main);
    assert.equal(d.kind, "refuse");
    assert.match(d.why, /does not read \/etc\/sysconfig\/kubelet/);
  });
  it("a file read after ours setting KUBELET_EXTRA_ARGS again: refused", () => {
    const d = decide(
      [[etcDropIn("30-late.conf"), "[Service]\nEnvironmentFile=-/etc/kubelet-late.env\n"]],
      { "/etc/kubelet-late.env": "KUBELET_EXTRA_ARGS=--v=4\n" },
    );
    assert.equal(d.kind, "refuse");
    assert.match(d.why, /kubelet-late\.env, read after/);
  });
});
