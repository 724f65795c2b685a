// The kubelet's systemd service as systemd builds it from kubelet.service and its drop-ins; each
// case names the rule and where it comes from (systemd's source, see installer/core/node/systemd-unit.ts).
// Where a systemd binary is installed, every case, and 200 random units, are also loaded by systemd
// itself (`systemd --test` dumps the units it loaded) and both readings must agree.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import {
  commandLineSources,
  effectiveService,
  systemUnitDirs,
  unitSearchPaths,
} from "../../installer/core/node/systemd-unit.ts";
import { tempDir } from "../temp-dir.ts";

const demo = new URL("../../demo/kubeadm-rpm-node/usr/lib/systemd/system/", import.meta.url);
const kubeletService = readFileSync(new URL("kubelet.service", demo), "utf8");
const kubeadmRpm = readFileSync(new URL("kubelet.service.d/10-kubeadm.conf", demo), "utf8");
// The deb packages' drop-in differs only in the user's flags file (kubernetes/release).
const kubeadmDeb = kubeadmRpm.replace("/etc/sysconfig/kubelet", "/etc/default/kubelet");
const etc = "/etc/systemd/system";
const usr = "/usr/lib/systemd/system";
const main = `${usr}/kubelet.service`;
const kubeadmArgs = [
  "$KUBELET_KUBECONFIG_ARGS",
  "$KUBELET_CONFIG_ARGS",
  "$KUBELET_KUBEADM_ARGS",
  "$KUBELET_EXTRA_ARGS",
];
const kubeadmEnv: [string, string][] = [
  [
    "KUBELET_KUBECONFIG_ARGS",
    "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf",
  ],
  ["KUBELET_CONFIG_ARGS", "--config=/var/lib/kubelet/config.yaml"],
];
const service = (...lines: string[]): string => `[Service]\n${lines.join("\n")}\n`;

interface Want {
  execStart?: string[] | null;
  environment?: [string, string][];
  /** `-path` for an optional file. */
  environmentFiles?: string[];
  dropIns?: string[];
  literalWords?: string[];
  /** `$A` for a split use, `${A}` for a whole one. */
  variables?: string[];
}
interface Case {
  name: string;
  /** The unit file first, then drop-ins. */
  files: [string, string][];
  want: Want | RegExp;
}

const cases: Case[] = [
  {
    name: "kubeadm, rpm packages: 10-kubeadm.conf resets ExecStart= and expands four variables",
    files: [
      [main, kubeletService],
      [`${usr}/kubelet.service.d/10-kubeadm.conf`, kubeadmRpm],
    ],
    want: {
      execStart: ["/usr/bin/kubelet", ...kubeadmArgs],
      environment: kubeadmEnv,
      environmentFiles: ["-/var/lib/kubelet/kubeadm-flags.env", "-/etc/sysconfig/kubelet"],
      literalWords: [],
      variables: kubeadmArgs,
    },
  },
  {
    name: "kubeadm, deb packages (apt.kubernetes.io layout: unit in /lib, drop-in in /etc)",
    files: [
      ["/lib/systemd/system/kubelet.service", kubeletService],
      [`${etc}/kubelet.service.d/10-kubeadm.conf`, kubeadmDeb],
    ],
    want: {
      execStart: ["/usr/bin/kubelet", ...kubeadmArgs],
      environmentFiles: ["-/var/lib/kubelet/kubeadm-flags.env", "-/etc/default/kubelet"],
      dropIns: [`${etc}/kubelet.service.d/10-kubeadm.conf`],
    },
  },
  {
    name: "ExecStart= with an empty value resets the list: a later drop-in writes the flags on the line",
    files: [
      [main, kubeletService],
      [`${usr}/kubelet.service.d/10-kubeadm.conf`, kubeadmRpm],
      [
        `${etc}/kubelet.service.d/20-provider.conf`,
        service(
          "ExecStart=",
          "ExecStart=/usr/bin/kubelet $KUBELET_KUBEADM_ARGS --image-credential-provider-config=/x --image-credential-provider-bin-dir=/x/bin",
        ),
      ],
    ],
    want: {
      execStart: [
        "/usr/bin/kubelet",
        "$KUBELET_KUBEADM_ARGS",
        "--image-credential-provider-config=/x",
        "--image-credential-provider-bin-dir=/x/bin",
      ],
      literalWords: [
        "--image-credential-provider-config=/x",
        "--image-credential-provider-bin-dir=/x/bin",
      ],
      variables: ["$KUBELET_KUBEADM_ARGS"],
    },
  },
  {
    name: "Environment= in a drop-in sets KUBELET_EXTRA_ARGS (an EnvironmentFile= setting it wins at start)",
    files: [
      [main, kubeletService],
      [`${usr}/kubelet.service.d/10-kubeadm.conf`, kubeadmRpm],
      [
        `${etc}/kubelet.service.d/30-extra.conf`,
        service(
          'Environment="KUBELET_EXTRA_ARGS=--image-credential-provider-config=/y --image-credential-provider-bin-dir=/y/bin"',
        ),
      ],
    ],
    want: {
      environment: [
        ...kubeadmEnv,
        [
          "KUBELET_EXTRA_ARGS",
          "--image-credential-provider-config=/y --image-credential-provider-bin-dir=/y/bin",
        ],
      ],
      environmentFiles: ["-/var/lib/kubelet/kubeadm-flags.env", "-/etc/sysconfig/kubelet"],
    },
  },
  {
    name: "a drop-in in /etc masks the same name in /usr/lib; *.conf only, no hidden files (conf-files.c)",
    files: [
      [main, kubeletService],
      [`${usr}/kubelet.service.d/10-kubeadm.conf`, kubeadmRpm],
      [`${etc}/kubelet.service.d/10-kubeadm.conf`, service("ExecStart=", "ExecStart=/opt/kubelet")],
      [`${etc}/kubelet.service.d/10-kubeadm.conf.rpmsave`, service("ExecStart=/bad")],
      [`${etc}/kubelet.service.d/.20-hidden.conf`, service("ExecStart=/bad")],
    ],
    want: {
      execStart: ["/opt/kubelet"],
      environment: [],
      environmentFiles: [],
      dropIns: [`${etc}/kubelet.service.d/10-kubeadm.conf`],
    },
  },
  {
    name: "an empty file (a link to /dev/null) masks a drop-in",
    files: [
      [main, kubeletService],
      [`${usr}/kubelet.service.d/10-kubeadm.conf`, kubeadmRpm],
      [`${etc}/kubelet.service.d/10-kubeadm.conf`, ""],
    ],
    want: { execStart: ["/usr/bin/kubelet"], environment: [], environmentFiles: [] },
  },
  {
    name: "drop-ins apply in the order of their names across directories; a later Environment= replaces in place",
    files: [
      [main, kubeletService],
      [`${usr}/kubelet.service.d/20-c.conf`, service("Environment=B=usr-20")],
      [`${etc}/kubelet.service.d/10-b.conf`, service("Environment=A=etc-10")],
      [`${usr}/kubelet.service.d/05-a.conf`, service("Environment=A=usr-05 C=usr-05")],
    ],
    want: {
      dropIns: [
        `${usr}/kubelet.service.d/05-a.conf`,
        `${etc}/kubelet.service.d/10-b.conf`,
        `${usr}/kubelet.service.d/20-c.conf`,
      ],
      environment: [
        ["A", "etc-10"],
        ["C", "usr-05"],
        ["B", "usr-20"],
      ],
    },
  },
  {
    name: "type-wide service.d drop-ins apply too, after the unit's own (dropin.c), which mask their names",
    files: [
      [main, kubeletService],
      [`${usr}/kubelet.service.d/10-kubeadm.conf`, kubeadmRpm],
      [`${etc}/service.d/10-kubeadm.conf`, service("ExecStart=/bad")],
      [`${etc}/service.d/50-all.conf`, service("Environment=ALL=1")],
    ],
    want: {
      execStart: ["/usr/bin/kubelet", ...kubeadmArgs],
      dropIns: [`${usr}/kubelet.service.d/10-kubeadm.conf`, `${etc}/service.d/50-all.conf`],
      environment: [...kubeadmEnv, ["ALL", "1"]],
    },
  },
  {
    name: "continuation: an odd trailing backslash joins the next line as a space; comment lines in between are skipped",
    files: [
      [
        main,
        service(
          "ExecStart=/usr/bin/kubelet \\",
          "  # a comment, even one ending in a backslash \\",
          "  --a=1 \\",
          '\t--b="x y"',
          "Environment=EVEN=a\\\\\\\\",
          "Environment=ODD=b\\\\\\",
          "  c",
        ),
      ],
    ],
    want: {
      execStart: ["/usr/bin/kubelet", "--a=1", "--b=x y"],
      environment: [
        ["EVEN", "a\\\\"],
        ["ODD", "b\\"],
      ],
    },
  },
  {
    name: "comments: # and ; start a comment only at the start of a line, never after a value",
    files: [
      [
        main,
        [
          "# the kubelet",
          "[Service]",
          "  ; ExecStart=/commented/out",
          "ExecStart=/usr/bin/kubelet --v=2 # a note",
          "Environment=A=1 #B=2 C=3",
          "[Unit]",
          "ExecStart=/not/a/service/key",
          "[X-Custom]",
          "Environment=D=4",
        ].join("\n"),
      ],
    ],
    want: {
      execStart: ["/usr/bin/kubelet", "--v=2", "#", "a", "note"],
      environment: [
        ["A", "1"],
        ["C", "3"],
      ],
    },
  },
  {
    name: "an ExecStart= without $KUBELET_EXTRA_ARGS: /etc/sysconfig/kubelet loads but no flag of it arrives",
    files: [
      [main, kubeletService],
      [`${usr}/kubelet.service.d/10-kubeadm.conf`, kubeadmRpm],
      [
        `${etc}/kubelet.service.d/90-no-extra.conf`,
        service(
          "ExecStart=",
          "ExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS",
        ),
      ],
    ],
    want: {
      variables: ["$KUBELET_CONFIG_ARGS", "$KUBELET_KUBEADM_ARGS"],
      environmentFiles: ["-/var/lib/kubelet/kubeadm-flags.env", "-/etc/sysconfig/kubelet"],
    },
  },
  {
    name: "two non-empty ExecStart= (a drop-in without `ExecStart=` first): systemd refuses the unit (service.c)",
    files: [
      [main, kubeletService],
      [`${etc}/kubelet.service.d/20-x.conf`, service("ExecStart=/usr/bin/kubelet --v=2")],
    ],
    want: /has 2 ExecStart= commands .*kubelet\.service:8, .*20-x\.conf:2.*Type=oneshot/,
  },
  {
    name: "a lone `;` separates two commands on one line: refused too; `\\;` is a literal `;`",
    files: [[main, service("ExecStart=/usr/bin/kubelet \\; ; /usr/bin/true")]],
    want: /has 2 ExecStart= commands/,
  },
  {
    name: "${VAR} is one word, spaces and all; $VAR as a whole word is split; $$ is $ (replace_env_argv)",
    files: [
      [
        main,
        service(
          'ExecStart=/usr/bin/kubelet ${KUBELET_EXTRA_ARGS} $KUBELET_KUBEADM_ARGS "--x=${A}" $$LITERAL pre${B}post ${C:-d} $1X ${} "$QUOTED"',
        ),
      ],
    ],
    want: {
      execStart: [
        "/usr/bin/kubelet",
        "${KUBELET_EXTRA_ARGS}",
        "$KUBELET_KUBEADM_ARGS",
        "--x=${A}",
        "$$LITERAL",
        "pre${B}post",
        "${C:-d}",
        "$1X",
        "${}",
        "$QUOTED",
      ],
      literalWords: ["$LITERAL", "${C:-d}", ""],
      variables: ["${KUBELET_EXTRA_ARGS}", "$KUBELET_KUBEADM_ARGS", "${A}", "${B}", "$QUOTED"],
    },
  },
  {
    name: "ExecStart= prefixes: - and : are stripped, and : expands no variables",
    files: [[main, service("ExecStart=-:/usr/bin/kubelet $KUBELET_EXTRA_ARGS --v=2")]],
    want: {
      execStart: ["/usr/bin/kubelet", "$KUBELET_EXTRA_ARGS", "--v=2"],
      literalWords: ["$KUBELET_EXTRA_ARGS", "--v=2"],
      variables: [],
    },
  },
  {
    name: "ExecStart= prefix @: the word after the path is argv[0]; +, ! and !! are stripped",
    files: [[main, service("ExecStart=+@/usr/bin/kubelet kubelet $KUBELET_EXTRA_ARGS")]],
    want: { execStart: ["kubelet", "$KUBELET_EXTRA_ARGS"], variables: ["$KUBELET_EXTRA_ARGS"] },
  },
  {
    name: "Environment=: several per line, quotes anywhere in a word, C escapes; invalid names dropped",
    files: [
      [
        main,
        service(
          "ExecStart=/usr/bin/kubelet",
          `Environment="A=x y" B='c d'e "C=\\x41\\s\\\\" D=1 "G=$$x" 1BAD=2 NOEQ H=\\\\"q w\\\\"`,
        ),
      ],
    ],
    want: {
      environment: [
        ["A", "x y"],
        ["B", "c de"],
        ["C", "A \\"],
        ["D", "1"],
        ["G", "$$x"],
        ["H", "\\q w\\"],
      ],
    },
  },
  {
    name: "Environment=: an unknown escape or an open quote drops the rest of the line, not what came before",
    files: [
      [
        main,
        service(
          "ExecStart=/usr/bin/kubelet",
          'Environment=E=1 "F=unbalanced',
          'Environment=K=2 "L=\\$x" M=3',
        ),
      ],
    ],
    want: {
      environment: [
        ["E", "1"],
        ["K", "2"],
      ],
    },
  },
  {
    name: "Environment=: a value that is not UTF-8 to systemd (\\uD800, \\uFFFE) is dropped (env_value_is_valid)",
    files: [
      [
        main,
        service("ExecStart=/usr/bin/kubelet", "Environment=A=1 B=\\uD800 C=\\uFFFE D=\\u00e9"),
      ],
    ],
    want: {
      environment: [
        ["A", "1"],
        ["D", "é"],
      ],
    },
  },
  {
    name: "a line with a noncharacter refuses the unit (parse_line: utf8_is_valid)",
    files: [[main, service("ExecStart=/usr/bin/kubelet", "Environment=A=\uFFFE")]],
    want: /kubelet\.service:3: systemd refuses the unit: the line is not UTF-8/,
  },
  {
    name: "ExecStart= keeps an unknown escape as written (extract_first_word_and_warn); `%%` is `%`",
    files: [[main, service('ExecStart=/usr/bin/kubelet --a=\\$x "--b=\\t" 100%%')]],
    want: { execStart: ["/usr/bin/kubelet", "--a=\\$x", "--b=\t", "100%"] },
  },
  {
    name: "an empty Environment= or EnvironmentFile= resets its list",
    files: [
      [main, kubeletService],
      [`${usr}/kubelet.service.d/10-kubeadm.conf`, kubeadmRpm],
      [
        `${etc}/kubelet.service.d/50-reset.conf`,
        service("Environment=", "EnvironmentFile=", "EnvironmentFile=/etc/kubelet.env"),
      ],
    ],
    want: { environment: [], environmentFiles: ["/etc/kubelet.env"] },
  },
  {
    name: "EnvironmentFile=: one path, no quoting, simplified; relative paths and .. are ignored",
    files: [
      [
        main,
        service(
          "ExecStart=/usr/bin/kubelet",
          "EnvironmentFile=-/etc//default/./kubelet/",
          "EnvironmentFile=relative.env",
          'EnvironmentFile="/quoted"',
          "EnvironmentFile=/etc/../x",
          "EnvironmentFile=/etc/a b",
        ),
      ],
    ],
    want: { environmentFiles: ["-/etc/default/kubelet", "/etc/a b"] },
  },
  {
    name: "unbalanced quotes in an argument refuse the unit (config_parse_exec: -ENOEXEC)",
    files: [[main, service('ExecStart=/usr/bin/kubelet "--a=b')]],
    want: /kubelet\.service:2: systemd refuses the unit: ExecStart= has unbalanced quotes/,
  },
  {
    name: "... unless the command has the - prefix: then the line is ignored",
    files: [[main, service("ExecStart=/usr/bin/kubelet", 'ExecStart=-/usr/bin/kubelet "--a=b')]],
    want: { execStart: ["/usr/bin/kubelet"] },
  },
  {
    name: "a section header without its ] refuses the unit (parse_line)",
    files: [[main, "[Service\nExecStart=/usr/bin/kubelet\n"]],
    want: /kubelet\.service:1: systemd refuses the unit: bad section header/,
  },
  {
    name: "no ExecStart= at all: none (systemd refuses a simple service without one)",
    files: [[main, "[Unit]\nDescription=x\n"]],
    want: { execStart: null },
  },
];

const read = (c: Case): ReturnType<typeof effectiveService> =>
  effectiveService(c.files.map(([path, text]) => ({ path, text })));
const fileRef = (f: { path: string; optional: boolean }): string =>
  `${f.optional ? "-" : ""}${f.path}`;
const variableUse = (v: { name: string; split: boolean }): string =>
  v.split ? `$${v.name}` : `\${${v.name}}`;

describe("the kubelet's service as systemd builds it", () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = read(c);
      if (c.want instanceof RegExp) {
        if (r.ok) assert.fail(`accepted: ${JSON.stringify(r.value)}`);
        assert.match(r.problems.map((p) => `${p.path}: ${p.message}`).join("\n"), c.want);
        return;
      }
      assert.ok(r.ok, JSON.stringify(r));
      const s = r.value;
      const w = c.want;
      if (w.execStart !== undefined) assert.deepEqual(s.execStart, w.execStart);
      if (w.environment !== undefined) assert.deepEqual(s.environment, w.environment);
      if (w.environmentFiles !== undefined) {
        assert.deepEqual(s.environmentFiles.map(fileRef), w.environmentFiles);
      }
      if (w.dropIns !== undefined) assert.deepEqual(s.dropIns, w.dropIns);
      const sources = commandLineSources(s);
      if (w.literalWords !== undefined) assert.deepEqual(sources?.literalWords, w.literalWords);
      if (w.variables !== undefined) {
        assert.deepEqual(sources?.variables.map(variableUse), w.variables);
      }
    });
  }

  it("says which words a variable becomes, and how", () => {
    const r = read(cases.find((c) => c.name.startsWith("${VAR} is one word")) as Case);
    assert.ok(r.ok);
    assert.deepEqual(commandLineSources(r.value)?.words, [
      { kind: "joined", parts: [{ variable: "KUBELET_EXTRA_ARGS" }] },
      { kind: "split", variable: "KUBELET_KUBEADM_ARGS" },
      { kind: "joined", parts: ["--x=", { variable: "A" }] },
      { kind: "literal", text: "$LITERAL" },
      { kind: "joined", parts: ["pre", { variable: "B" }, "post"] },
      { kind: "literal", text: "${C:-d}" },
      // `$1X` is no name: the word vanishes; `${}` is an empty word.
      { kind: "literal", text: "" },
      { kind: "split", variable: "QUOTED" },
    ]);
    const none = effectiveService([{ path: main, text: "[Unit]\n" }]);
    assert.ok(none.ok);
    assert.equal(commandLineSources(none.value), null);
  });

  it("refuses a drop-in outside the unit's drop-in directories (a caller's mistake)", () => {
    const r = effectiveService([
      { path: main, text: kubeletService },
      { path: "/etc/kubelet.service.d/10-x.conf", text: "" },
    ]);
    assert.ok(!r.ok);
    assert.match(r.problems[0]?.message ?? "", /not in a drop-in directory/);
  });
});

describe("where systemd looks for kubelet.service", () => {
  it("the directories the pod sees, in systemd's order; drop-in dirs, then type-wide ones", () => {
    const paths = unitSearchPaths("kubelet.service");
    assert.deepEqual(paths.units, [
      "/etc/systemd/system.control/kubelet.service",
      "/etc/systemd/system/kubelet.service",
      "/etc/systemd/system.attached/kubelet.service",
      "/lib/systemd/system/kubelet.service",
      "/usr/lib/systemd/system/kubelet.service",
    ]);
    assert.deepEqual(paths.dropInDirs, [
      ...paths.units.map((u) => `${u}.d`),
      ...paths.units.map((u) => `${dirname(u)}/service.d`),
    ]);
  });

  it(
    "follows `systemd-analyze unit-paths` here, where it runs (the /run and /usr/local ones left out)",
    { skip: existsSync("/usr/bin/systemd-analyze") ? false : "no systemd-analyze" },
    () => {
      const out = spawnSync("/usr/bin/systemd-analyze", ["unit-paths"], { encoding: "utf8" });
      const listed = out.stdout.split("\n");
      const shared = systemUnitDirs.filter((d) => listed.includes(d));
      assert.deepEqual(
        shared,
        listed.filter((d) => systemUnitDirs.includes(d)),
      );
      assert.ok(shared.length >= 3, out.stdout);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// The same, loaded by systemd itself

const systemd = "/lib/systemd/systemd";

interface Dump {
  dropIns: string[];
  environment: [string, string][];
  environmentFiles: string[];
  execStart: string[][];
}

/**
 * How systemd loads `units` from `files` (host paths, put under a temp root that stands for the
 * search path): `systemd --test` dumps each unit it loaded, or its load state when it refused one
 * (`bad-setting`). A string when systemd did not run.
 */
function systemdLoads(
  files: [string, string][],
  units: string[],
): Map<string, Dump | string> | string {
  const root = tempDir("nodecred-unit-");
  chmodSync(root, 0o755); // systemd --test will not run as root: it reads as nobody
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  for (const [path, text] of files) write(path, text);
  for (const stub of ["sysinit", "basic", "shutdown", "network-online"]) {
    write(`/stub/${stub}.target`, "[Unit]\nDescription=stub\n");
  }
  write("/stub/nodecred-test.target", `[Unit]\nWants=${units.join(" ")}\n`);
  const unitPath = [...systemUnitDirs, "/stub"].map((d) => join(root, d)).join(":");
  const argv = ["--test", "--system", "--unit=nodecred-test.target", "--no-pager"];
  const asNobody = process.getuid?.() === 0;
  const out = spawnSync(
    asNobody ? "/usr/bin/setpriv" : systemd,
    asNobody ? ["--reuid=65534", "--regid=65534", "--clear-groups", systemd, ...argv] : argv,
    { env: { SYSTEMD_UNIT_PATH: unitPath }, encoding: "utf8", timeout: 60_000 },
  );
  if (out.status !== 0) return `${out.stdout}${out.stderr}`;
  const loaded = new Map<string, Dump | string>();
  let dump: Dump | null = null;
  let [current, section] = ["", ""];
  for (const line of out.stdout.split("\n")) {
    const unit = /^\t-> Unit (.*):$/.exec(line)?.[1];
    if (unit !== undefined) {
      current = unit;
      dump = units.includes(unit)
        ? { dropIns: [], environment: [], environmentFiles: [], execStart: [] }
        : null;
      if (dump !== null) loaded.set(unit, dump);
      continue;
    }
    if (dump === null) continue;
    const [key = "", value = ""] = line.trimStart().split(/: (.*)/s);
    if (key.startsWith("-> ")) section = key;
    else if (key === "Unit Load State" && value !== "loaded") loaded.set(current, value);
    else if (key === "DropIn Path") dump.dropIns.push(value.slice(root.length));
    else if (key === "Environment") {
      const eq = value.indexOf("=");
      dump.environment.push([value.slice(0, eq), value.slice(eq + 1)]);
    } else if (key === "EnvironmentFile") dump.environmentFiles.push(value);
    else if (key === "Command Line" && section === "-> ExecStart:") {
      dump.execStart.push(shellWords(value));
    }
  }
  return loaded;
}

/**
 * quote_command_line: words joined by spaces; a word that needs it in "..." with `"\\`$` escaped
 * by a backslash and control characters as C escapes (`\t`, `\n`, `\001`).
 */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const escapes: Record<string, string> = { t: "\t", n: "\n" };
  for (let p = 0; p < line.length; p++) {
    let word = "";
    if (line[p] === '"') {
      for (p++; p < line.length && line[p] !== '"'; p++) {
        if (line[p] !== "\\") word += line[p] ?? "";
        else if (/[0-7]/.test(line[++p] ?? "")) {
          word += String.fromCharCode(parseInt(line.slice(p, p + 3), 8));
          p += 2;
        } else word += escapes[line[p] ?? ""] ?? line[p] ?? "";
      }
      p++;
    } else for (; p < line.length && line[p] !== " "; p++) word += line[p] ?? "";
    words.push(word);
  }
  return words;
}

/** Ours in the dump's shape, or "refused" where systemd would not load the unit. */
function ours(files: [string, string][]): Dump | "refused" {
  const r = effectiveService(files.map(([path, text]) => ({ path, text })));
  if (!r.ok || r.value.execStart === null) return "refused";
  const execStart = r.value.execStart;
  return {
    dropIns: [...r.value.dropIns],
    environment: r.value.environment.map(([n, v]) => [n, v]),
    environmentFiles: r.value.environmentFiles.map(fileRef),
    execStart: [[...execStart]],
  };
}
const theirs = (d: Dump | string | undefined): Dump | "refused" =>
  typeof d === "string" ? "refused" : (d ?? "refused");

const probe = existsSync(systemd)
  ? systemdLoads([[main, service("ExecStart=/usr/bin/kubelet")]], ["kubelet.service"])
  : `no ${systemd}`;
const skip = typeof probe === "string" ? probe.slice(0, 300) : false;

describe("the same cases, loaded by systemd itself (when installed)", () => {
  for (const c of cases) {
    it(c.name, { skip }, () => {
      const loaded = systemdLoads(c.files, ["kubelet.service"]);
      if (typeof loaded === "string") assert.fail(loaded);
      assert.deepEqual(ours(c.files), theirs(loaded.get("kubelet.service")));
    });
  }

  it("random units: systemd and we read the same words, quotes and escapes", { skip }, () => {
    // ExecStart=, Environment= and EnvironmentFile= lines made of pieces that meet each rule.
    const pieces = [
      ...["A=", "B=b", " C=", "/etc/x", " --f=", "A", "=", "-", "@", ":", "+", "!", "/", ".", ".."],
      ...[" ", "  ", "\t", '"', "'", "\\", "\\\\", "\\s", "\\x41", "\\$", "\\;", ";", "#"],
      ...["$", "${A}", "$$", "%%", "/usr/bin/k", "\\\n", "\n# c \\\n", "\n"],
    ];
    const keys = [
      "ExecStart=\nExecStart=/usr/bin/k ",
      "ExecStart=",
      "Environment=",
      "EnvironmentFile=",
    ];
    let seed = 20261124;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * n);
    };
    const units = Array.from({ length: 200 }, (_, i) => {
      let text = "[Service]\nExecStart=/usr/bin/kubelet\n";
      for (let l = random(3); l >= 0; l--) {
        text += keys[random(keys.length)] ?? "";
        for (let k = random(14); k >= 0; k--) text += pieces[random(pieces.length)] ?? "";
        text += "\n";
      }
      return [`${usr}/k${String(i)}.service`, text] as [string, string];
    });
    const loaded = systemdLoads(
      units,
      units.map(([path]) => path.slice(usr.length + 1)),
    );
    if (typeof loaded === "string") assert.fail(loaded);
    let compared = 0;
    let refused = 0;
    for (const unit of units) {
      const mine = ours([unit]);
      // The dump prints environment values raw: one with a newline cannot be read back.
      if (mine !== "refused" && mine.environment.some(([, v]) => v.includes("\n"))) continue;
      assert.deepEqual(
        mine,
        theirs(loaded.get(unit[0].slice(usr.length + 1))),
        JSON.stringify(unit[1]),
      );
      compared++;
      if (mine === "refused") refused++;
    }
    assert.ok(compared > 150 && refused > 20 && compared - refused > 100, `${compared} ${refused}`);
  });
});
