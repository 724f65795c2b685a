import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { editKubeletFlagsFile, readProviderFlags } from "../../installer/core/kubelet-flags.ts";

const flags = { configPath: "/etc/nodecred/c.yaml", binDir: "/etc/nodecred/bin" };
const ours =
  "--image-credential-provider-bin-dir=/etc/nodecred/bin --image-credential-provider-config=/etc/nodecred/c.yaml";
const edit = (text: string | null): string => {
  const r = editKubeletFlagsFile(text, "KUBELET_EXTRA_ARGS", flags, "/f");
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
};

describe("editKubeletFlagsFile", () => {
  const cases: { name: string; input: string | null; want: string }[] = [
    { name: "missing file is created", input: null, want: `KUBELET_EXTRA_ARGS="${ours}"\n` },
    { name: "empty file", input: "", want: `KUBELET_EXTRA_ARGS="${ours}"\n` },
    {
      name: "RPM default: unquoted empty stays unquoted",
      input: "KUBELET_EXTRA_ARGS=\n",
      want: `KUBELET_EXTRA_ARGS=${ours}\n`,
    },
    {
      name: "double quotes, other variables and comments kept",
      input: '# c\nA=1\nKUBELET_EXTRA_ARGS="--v=2"\nB="x y"\n',
      want: `# c\nA=1\nKUBELET_EXTRA_ARGS="--v=2 ${ours}"\nB="x y"\n`,
    },
    {
      name: "single quotes kept",
      input: "KUBELET_EXTRA_ARGS='--v=2'\n",
      want: `KUBELET_EXTRA_ARGS='--v=2 ${ours}'\n`,
    },
    {
      name: "export prefix kept",
      input: 'export KUBELET_EXTRA_ARGS="--v=2"\n',
      want: `export KUBELET_EXTRA_ARGS="--v=2 ${ours}"\n`,
    },
    {
      name: "our flags replaced in both --flag=value and --flag value forms, duplicates included",
      input:
        'KUBELET_EXTRA_ARGS="--image-credential-provider-config /a --v=2 --image-credential-provider-bin-dir=/b --image-credential-provider-config=/c"\n',
      want: `KUBELET_EXTRA_ARGS="--v=2 ${ours}"\n`,
    },
    {
      name: "only the last assignment gets our flags; stale copies removed from earlier ones",
      input:
        'KUBELET_EXTRA_ARGS="--image-credential-provider-config=/x --a"\nKUBELET_EXTRA_ARGS="--b"\n',
      want: `KUBELET_EXTRA_ARGS="--a"\nKUBELET_EXTRA_ARGS="--b ${ours}"\n`,
    },
    {
      name: "no trailing newline: line appended",
      input: "A=1",
      want: `A=1\nKUBELET_EXTRA_ARGS="${ours}"\n`,
    },
    {
      name: "similar variable names untouched",
      input: "KUBELET_EXTRA_ARGS2=x\n",
      want: `KUBELET_EXTRA_ARGS2=x\nKUBELET_EXTRA_ARGS="${ours}"\n`,
    },
    {
      name: "CRLF line endings kept",
      input: 'KUBELET_EXTRA_ARGS="--v=2"\r\n',
      want: `KUBELET_EXTRA_ARGS="--v=2 ${ours}"\r\n`,
    },
    {
      name: "text after the closing quote kept",
      input: 'KUBELET_EXTRA_ARGS="--v=2" # note\n',
      want: `KUBELET_EXTRA_ARGS="--v=2 ${ours}" # note\n`,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const once = edit(c.input);
      assert.equal(once, c.want);
      assert.equal(edit(once), once, "not idempotent");
      const read = readProviderFlags(once, "KUBELET_EXTRA_ARGS");
      assert.deepEqual(read, { configPath: flags.configPath, binDir: flags.binDir });
    });
  }
  it("removal (flags null) undoes an edit of an existing line", () => {
    const input = "# c\nKUBELET_EXTRA_ARGS='--v=2  --x'\n";
    const r = editKubeletFlagsFile(edit(input), "KUBELET_EXTRA_ARGS", null, "/f");
    assert.ok(r.ok);
    assert.equal(r.value, input);
  });
  it("refuses a value spanning lines instead of corrupting it", () => {
    for (const input of ['KUBELET_EXTRA_ARGS="--a\n--b"\n', "KUBELET_EXTRA_ARGS=--a \\\n--b\n"]) {
      const r = editKubeletFlagsFile(input, "KUBELET_EXTRA_ARGS", flags, "/etc/default/kubelet");
      if (r.ok) assert.fail("accepted");
      assert.equal(r.problems[0]?.path, "/etc/default/kubelet:1");
    }
  });
});
