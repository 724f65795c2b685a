// The stand-in systemd's unit rules (unit-file.ts): the end-to-end node runs the kubelet from
// kubeadm's drop-in with them, so a wrong expansion would start a kubelet without our flags.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expandExecStart, parseEnvironmentFile, parseUnit, splitWords } from "./unit-file.ts";

const kubeadmDropIn = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/sysconfig/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;

describe("stand-in systemd unit rules", () => {
  it("an empty ExecStart= in a drop-in resets the unit's; Environment and files are kept", () => {
    const unit = parseUnit([
      "[Service]\nExecStart=/usr/bin/kubelet\nRestart=always\nRestartSec=10\n",
      kubeadmDropIn,
    ]);
    assert.equal(unit.execStart[0], "/usr/bin/kubelet");
    assert.equal(unit.execStart.length, 5);
    assert.equal(
      unit.environment.get("KUBELET_CONFIG_ARGS"),
      "--config=/var/lib/kubelet/config.yaml",
    );
    assert.deepEqual(unit.environmentFiles, [
      { path: "/var/lib/kubelet/kubeadm-flags.env", optional: true },
      { path: "/etc/sysconfig/kubelet", optional: true },
    ]);
    assert.equal(unit.restartAlways, true);
    assert.equal(unit.restartSecMs, 10_000);
  });

  it("a unit without ExecStart is refused", () => {
    assert.throws(() => parseUnit(["[Service]\nExecStart=/usr/bin/kubelet\n", "ExecStart=\n"]));
  });

  const cases: { name: string; file: string; want: Record<string, string> }[] = [
    { name: "empty value", file: "KUBELET_EXTRA_ARGS=\n", want: { KUBELET_EXTRA_ARGS: "" } },
    {
      name: "double quotes removed",
      file: 'KUBELET_EXTRA_ARGS="--a=1 --b=2"\n',
      want: { KUBELET_EXTRA_ARGS: "--a=1 --b=2" },
    },
    { name: "single quotes", file: "A='x y'\n", want: { A: "x y" } },
    { name: "comments skipped", file: "# A=1\n; B=2\nC=3\n", want: { C: "3" } },
    { name: "continuation", file: "A=--a \\\n--b\n", want: { A: "--a --b" } },
  ];
  for (const c of cases) {
    it(`EnvironmentFile: ${c.name}`, () => {
      assert.deepEqual(Object.fromEntries(parseEnvironmentFile(c.file)), c.want);
    });
  }

  it("$VAR splits into words (none when empty), ${VAR} stays one word", () => {
    const env = new Map([
      ["EXTRA", "--x=1  --y=2"],
      ["EMPTY", ""],
      ["ONE", "a b"],
    ]);
    assert.deepEqual(expandExecStart(["/k", "$EXTRA", "$EMPTY", "$MISSING", "--z=${ONE}"], env), [
      "/k",
      "--x=1",
      "--y=2",
      "--z=a b",
    ]);
  });

  it("words: quotes group, backslash escapes inside double quotes, unterminated is an error", () => {
    assert.deepEqual(splitWords(`a "b c" 'd e' "f\\"g"`), ["a", "b c", "d e", 'f"g']);
    assert.throws(() => splitWords(`a "b`));
  });
});
