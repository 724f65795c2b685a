// The kubelet's flags file, read as systemd reads an EnvironmentFile= and as the kubelet reads
// the words of `$KUBELET_EXTRA_ARGS`; each case names the rule and where it comes from (systemd's
// src/basic/env-file.c parse_env_file_internal unless said otherwise). Texts are byte strings.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { bytesOf, byteString } from "../../installer/core/node/byte-string.ts";
import {
  editFlagValue,
  editKubeletFlagsFile,
  readFlagValues,
  readProviderFlags,
} from "../../installer/core/node/kubelet-flags.ts";
import {
  dialects,
  loadEnvironmentFile,
  parseEnvironmentFile,
  type Dialect,
} from "../../installer/core/node/systemd-env-file.ts";
import { tempDir } from "../temp-dir.ts";

const V = "KUBELET_EXTRA_ARGS";
const flags = { configPath: "/etc/nodecred/c.yaml", binDir: "/etc/nodecred/bin" };
const ours =
  "--image-credential-provider-bin-dir=/etc/nodecred/bin --image-credential-provider-config=/etc/nodecred/c.yaml";
const oursWords = ours.split(" ");
const edit = (text: string | null, f: typeof flags | null = flags): string => {
  const r = editKubeletFlagsFile(text, V, f, "/f");
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
};
const refusal = (text: string, f: typeof flags | null = flags): string => {
  const r = editKubeletFlagsFile(text, V, f, "/etc/default/kubelet");
  if (r.ok) assert.fail(`accepted: ${JSON.stringify(r.value)}`);
  return r.problems.map((p) => `${p.path}: ${p.message}`).join("\n");
};
const [current, before254, olderQuotes, v239] = dialects as [Dialect, Dialect, Dialect, Dialect];
/** What systemd sets K to (undefined: unset), or "unloadable". */
const valueOf = (text: string, key = "K", d: Dialect = current): string | undefined => {
  const loaded = loadEnvironmentFile(text, d);
  return loaded.ok ? loaded.env.get(key) : "unloadable";
};

describe("systemd's EnvironmentFile= reader", () => {
  const cases: { name: string; input: string; want: string | undefined; dialect?: Dialect }[] = [
    { name: "PRE_KEY: whitespace before a key is skipped", input: "  \tK=v\n", want: "v" },
    {
      name: "PRE_KEY: # and ; start a comment only where a key could start (COMMENTS)",
      input: "# K=1\n; K=2\n  # K=3\nK=4 # not a comment\n",
      want: "4 # not a comment",
    },
    {
      name: "KEY: trailing whitespace of the key is trimmed; PRE_VALUE skips whitespace after =",
      input: "K \t=  \tv\n",
      want: "v",
    },
    {
      name: "KEY: `export K=v` assigns the key `export K`, an invalid name, dropped (env_name_is_valid)",
      input: "export K=v\n",
      want: undefined,
    },
    {
      name: "KEY: the key ends at the first =, the value may hold more",
      input: "K=a=b\n",
      want: "a=b",
    },
    {
      name: "KEY: a line without = is dropped, the next line is read afresh",
      input: "K\nK=1\nstray words\n",
      want: "1",
    },
    {
      name: "PRE_VALUE: a newline right after = assigns the empty string",
      input: "K=\n",
      want: "",
    },
    {
      name: "VALUE: unquoted, backslash takes the next char, trailing whitespace is trimmed",
      input: "K=a\\ b\\\\c\\qd  \t\n",
      want: "a b\\cqd",
    },
    {
      name: "VALUE_ESCAPE: an escaped trailing space survives the trim",
      input: "K=a\\  \n",
      want: "a ",
    },
    {
      name: "VALUE_ESCAPE: backslash-newline continues an unquoted value on the next line",
      input: "K=--a \\\n  --b\n",
      want: "--a   --b",
    },
    {
      name: "VALUE: quotes and # inside an unquoted value are ordinary chars",
      input: 'K=a "b" #c\n',
      want: 'a "b" #c',
    },
    {
      name: "SINGLE_QUOTE_VALUE: literal, backslashes and newlines included",
      input: "K='a\\b\n c\\'\n",
      want: "a\\b\n c\\",
    },
    {
      name: 'DOUBLE_QUOTE_VALUE_ESCAPE: \\" \\\\ \\` \\$ give the char, other backslashes stay (SHELL_NEED_ESCAPE)',
      input: 'K="a\\"b\\\\c\\$d\\`e\\qf"\n',
      want: 'a"b\\c$d`e\\qf',
    },
    {
      name: "DOUBLE_QUOTE_VALUE: backslash-LF is a continuation, a bare newline is kept",
      input: 'K="a\\\nb\nc"\n',
      want: "ab\nc",
    },
    {
      name: "PRE_VALUE after a closing quote: segments concatenate, whitespace between them skipped",
      input: "K=\"a b\"  'c'd e  \n",
      want: "a bcd e",
    },
    {
      name: "PRE_VALUE after a closing quote: there are no trailing comments, `# x` joins the value",
      input: 'K="a" # b\n',
      want: "a# b",
    },
    {
      name: "end of file inside quotes: the value is what was read (unterminated quote)",
      input: 'K="a\nB=1\n',
      want: "a\nB=1\n",
    },
    {
      name: "NEWLINE is LF or CR: a CRLF file reads like an LF file",
      input: "K=a \r\nB=2\r\n",
      want: "a",
    },
    {
      name: "NEWLINE: a lone CR ends the value",
      input: "K=a\rb\n",
      want: "a",
    },
    {
      name: "VALUE_ESCAPE: backslash-CR-LF continues at CR, then LF ends the value",
      input: "K=a\\\r\nb\n",
      want: "a",
    },
    {
      name: "DOUBLE_QUOTE_VALUE_ESCAPE: backslash-CR in double quotes is kept (only LF continues)",
      input: 'K="a\\\r\nb"\r\n',
      want: "a\\\r\nb",
    },
    {
      name: "load_env_file_push: the last assignment of a key wins",
      input: "K=1\nK=2\n",
      want: "2",
    },
    {
      name: "strv_env_clean: invalid names are dropped (digit first, dash)",
      input: "1K=a\nK-2=b\n",
      want: undefined,
    },
    {
      name: "COMMENT_ESCAPE since 254: a comment ending in a backslash ends at the newline",
      input: "# c \\\nK=1\n",
      want: "1",
    },
    {
      name: "COMMENT_ESCAPE before 254: a comment ending in a backslash swallows the next line",
      input: "# c \\\nK=1\n",
      want: undefined,
      dialect: before254,
    },
    {
      name: "DOUBLE_QUOTE_VALUE_ESCAPE in older systemd: the backslash stays unless before a quote",
      input: 'K="a\\\\b\\"c"\n',
      want: 'a\\\\b"c',
      dialect: olderQuotes,
    },
    {
      name: "DOUBLE_QUOTE_VALUE_ESCAPE in 239: the backslash goes before any char (systemd #10659)",
      input: 'K="a\\qb"\n',
      want: "aqb",
      dialect: v239,
    },
    {
      name: "env_value_is_valid before 248: control chars other than tab/LF make the last assignment invalid, unsetting K",
      input: "K=1\nK='a\rb'\n",
      want: undefined,
      dialect: olderQuotes,
    },
    {
      name: "env_value_is_valid since 248: control chars are allowed",
      input: "K=1\nK='a\rb'\n",
      want: "a\rb",
    },
    {
      name: "read_full_stream: a NUL byte anywhere fails the whole file",
      input: "K=1\n# \0\n",
      want: "unloadable",
    },
    {
      name: "check_utf8ness_and_warn: a value that is not UTF-8 fails the whole file",
      input: "K=1\nB=caf\xe9\n",
      want: "unloadable",
    },
    {
      name: "utf8_is_valid: noncharacters (U+FFFE) are not UTF-8 to systemd",
      input: "K=\xef\xbf\xbe\n",
      want: "unloadable",
    },
    {
      name: "comments are never checked for UTF-8",
      input: "# caf\xe9\nK=1\n",
      want: "1",
    },
    {
      name: "a UTF-8 byte-order mark is part of the first key, which is then invalid",
      input: "\xef\xbb\xbfK=1\n",
      want: undefined,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(valueOf(c.input, "K", c.dialect), c.want);
    });
  }

  it("gives each assignment's key, value and byte span (to the newline that ends it)", () => {
    // K's backslash-CR is a continuation, so its LF (19) is what ends it.
    const text = "# c\r\n  K = 'a\nb' \\\r\nB=\"x\" y  \nexport K=z";
    assert.deepEqual(parseEnvironmentFile(text), [
      { key: "K", value: "a\nb", start: 7, end: 19, line: 2 },
      { key: "B", value: "xy", start: 20, end: 29, line: 4 },
      { key: "export K", value: "z", start: 30, end: 40, line: 5 },
    ]);
    assert.equal(text.slice(7, 19), "K = 'a\nb' \\\r");
  });
});

/** systemd 252's environment.d generator runs the same parse_env_file_internal. */
const generator = "/lib/systemd/user-environment-generators/30-systemd-environment-d-generator";

describe("the reader against systemd's own (the environment.d generator, when installed)", () => {
  it(
    "reads random files as systemd does (before-254 rules: the generator is systemd 252 here)",
    { skip: existsSync(generator) ? false : `no ${generator}` },
    () => {
      const dir = tempDir("nodecred-envd-");
      mkdirSync(join(dir, "environment.d"));
      // No `$` (the generator expands variables, EnvironmentFile= does not).
      const pieces = [
        ...["Z1=", "Z2=", "Z1 = ", " Z2=", "export Z1=", "Z1", "="],
        ...["#", ";", "a", "b", "x y", "é", " ", "\t", "\n", "\r\n", "\r"],
        ...["'", '"', "\\", "\\\n", "\\\\", '\\"', "\\`", "`"],
      ];
      let seed = 20261123;
      const random = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return Math.floor((seed / 2147483648) * n);
      };
      let compared = 0;
      for (let i = 0; i < 300; i++) {
        let source = "";
        for (let k = random(14); k >= 0; k--) source += pieces[random(pieces.length)] ?? "";
        const text = byteString(new TextEncoder().encode(source));
        const assignments = parseEnvironmentFile(text, before254);
        // The generator skips an assignment with no value at all, where EnvironmentFile= sets "".
        if (assignments.some((a) => a.value === "")) continue;
        const mine = new Map<string, string>();
        for (const a of assignments) if (/^Z\d$/.test(a.key)) mine.set(a.key, a.value);
        writeFileSync(join(dir, "environment.d", "10-case.conf"), bytesOf(text));
        const out = execFileSync("env", ["-i", `XDG_CONFIG_HOME=${dir}`, generator], {
          stdio: ["ignore", "pipe", "ignore"],
        });
        assert.deepEqual(
          [...mine].sort(),
          [...generatorOutput(byteString(out))].sort(),
          JSON.stringify(source),
        );
        compared++;
      }
      assert.ok(compared > 150, `only ${String(compared)} files compared`);
    },
  );
});

/** The generator prints KEY=value, or KEY="..." with C escapes when the value needs quoting. */
function generatorOutput(out: string): Map<string, string> {
  const env = new Map<string, string>();
  const escapes: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b" };
  for (let p = 0; p < out.length; p++) {
    const eq = out.indexOf("=", p);
    const key = out.slice(p, eq);
    let value = "";
    p = eq + 1;
    if (out[p] === '"') {
      for (p++; out[p] !== '"'; p++) {
        const c = out[p] ?? "";
        if (c !== "\\") value += c;
        else if (out[++p] === "x") {
          value += String.fromCharCode(parseInt(out.slice(p + 1, p + 3), 16));
          p += 2;
        } else value += escapes[out[p] ?? ""] ?? out[p] ?? "";
      }
      p++;
    } else {
      const nl = out.indexOf("\n", p);
      value = out.slice(p, nl);
      p = nl;
    }
    if (/^Z\d$/.test(key)) env.set(key, value);
  }
  return env;
}

describe("the kubelet's words (ExecStart `$VAR`: extract_first_word RELAX|UNQUOTE, then pflag)", () => {
  const cases: { name: string; input: string; words: string[] | null }[] = [
    { name: "unset: no words, null", input: "A=1\n", words: null },
    { name: "set to empty: no words", input: `${V}=\n`, words: [] },
    {
      name: "split at runs of whitespace (WHITESPACE: space, tab, LF, CR)",
      input: `${V}=' a \t b\n\rc '\n`,
      words: ["a", "b", "c"],
    },
    {
      name: "quotes in the value quote words and are removed (EXTRACT_UNQUOTE)",
      input: `${V}="--a='x y' --b=\\"q r\\""\n`,
      words: ["--a=x y", "--b=q r"],
    },
    {
      name: "a backslash takes the next char, inside quotes too; an empty quoted word is a word",
      input: `${V}='a\\ b "c\\"d" '"''"\n`,
      words: ["a b", 'c"d', ""],
    },
    {
      name: "an unbalanced quote or a trailing backslash ends the last word (EXTRACT_RELAX)",
      input: `${V}='a "b c\\'\n`,
      words: ["a", "b c"],
    },
    {
      name: "the last assignment is the one the kubelet gets",
      input: `${V}=--a\n${V}=--b\n`,
      words: ["--b"],
    },
    {
      name: "a file systemd does not load gives nothing",
      input: `${V}=--a\nB=caf\xe9\n`,
      words: null,
    },
    {
      name: "words are text: systemd only loads UTF-8 values",
      input: `${V}=--node-labels=caf\xc3\xa9\n`,
      words: ["--node-labels=café"],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      assert.deepEqual(readFlagValues(c.input, V), c.words);
    });

  const flagCases: {
    name: string;
    input: string;
    want: { configPath: string | null; binDir: string | null };
  }[] = [
    {
      name: "--flag=value and --flag value; the last occurrence wins (pflag)",
      input: `${V}="--image-credential-provider-config=/a --image-credential-provider-bin-dir /b --image-credential-provider-config /c"\n`,
      want: { configPath: "/c", binDir: "/b" },
    },
    {
      name: "only the last assignment counts (an earlier one's flags are gone)",
      input: `${V}=--image-credential-provider-config=/a\n${V}=--v=2\n`,
      want: { configPath: null, binDir: null },
    },
    {
      name: "_ in a flag name reads as - (the kubelet's WordSepNormalizeFunc)",
      input: `${V}=--image_credential_provider_config=/u\n`,
      want: { configPath: "/u", binDir: null },
    },
    {
      name: "-- ends the flags (pflag)",
      input: `${V}="-- --image-credential-provider-config=/a"\n`,
      want: { configPath: null, binDir: null },
    },
    {
      name: "a quoted value is unquoted as systemd passes it",
      input: `${V}="--image-credential-provider-bin-dir='/x y'"\n`,
      want: { configPath: null, binDir: "/x y" },
    },
    {
      name: "`export KUBELET_EXTRA_ARGS=` sets nothing",
      input: `export ${V}=--image-credential-provider-config=/a\n`,
      want: { configPath: null, binDir: null },
    },
  ];
  for (const c of flagCases)
    it(c.name, () => {
      assert.deepEqual(readProviderFlags(c.input, V), c.want);
    });
});

describe("editKubeletFlagsFile", () => {
  const cases: { name: string; input: string | null; want: string }[] = [
    { name: "missing file is created", input: null, want: `${V}="${ours}"\n` },
    { name: "empty file", input: "", want: `${V}="${ours}"\n` },
    {
      name: "RPM default: unquoted empty stays unquoted",
      input: `${V}=\n`,
      want: `${V}=${ours}\n`,
    },
    {
      name: "double quotes, other variables and comments kept",
      input: `# c\nA=1\n${V}="--v=2"\nB="x y"\n`,
      want: `# c\nA=1\n${V}="--v=2 ${ours}"\nB="x y"\n`,
    },
    {
      name: "single quotes kept",
      input: `${V}='--v=2'\n`,
      want: `${V}='--v=2 ${ours}'\n`,
    },
    {
      name: 'empty double quotes: `" ours"`, so removal can tell it from an appended `K="ours"`',
      input: `${V}=""\n`,
      want: `${V}=" ${ours}"\n`,
    },
    {
      name: "`export KUBELET_EXTRA_ARGS=` is not an assignment to systemd: left alone, ours appended",
      input: `export ${V}="--v=2"\n`,
      want: `export ${V}="--v=2"\n${V}="${ours}"\n`,
    },
    {
      name: "our flags replaced in both --flag=value and --flag value forms, duplicates included",
      input: `${V}="--image-credential-provider-config /a --v=2 --image-credential-provider-bin-dir=/b --image-credential-provider-config=/c"\n`,
      want: `${V}="--v=2 ${ours}"\n`,
    },
    {
      name: "underscore spellings of our flags are ours too (WordSepNormalizeFunc)",
      input: `${V}="--image_credential_provider_config=/a --v=2"\n`,
      want: `${V}="--v=2 ${ours}"\n`,
    },
    {
      name: "only the last assignment gets our flags; stale copies removed from earlier ones",
      input: `${V}="--image-credential-provider-config=/x --a"\n${V}="--b"\n`,
      want: `${V}="--a"\n${V}="--b ${ours}"\n`,
    },
    {
      name: "single-quoted duplicates: our words taken out of the bytes, quoting kept (golden case)",
      input: `${V}='--image-credential-provider-config /c.yaml --v=2'\n# last wins\n${V}='--image-credential-provider-bin-dir=/b --v=4 --image-credential-provider-config=/c.yaml --image-credential-provider-bin-dir /b'\n`,
      want: `${V}='--v=2'\n# last wins\n${V}='--v=4 ${ours}'\n`,
    },
    {
      name: "our flags in a later quoted segment: the assignment is rewritten canonically",
      input: `${V}="--v=2 "'--image-credential-provider-config=/old'\n`,
      want: `${V}="--v=2 ${ours}"\n`,
    },
    {
      name: "no trailing newline: the appended line has none either (reversible)",
      input: "A=1",
      want: `A=1\n${V}="${ours}"`,
    },
    {
      name: "similar variable names untouched",
      input: `${V}2=x\n`,
      want: `${V}2=x\n${V}="${ours}"\n`,
    },
    {
      name: "CRLF line endings kept",
      input: `${V}="--v=2"\r\n`,
      want: `${V}="--v=2 ${ours}"\r\n`,
    },
    {
      name: "CRLF file: an appended assignment ends in CRLF",
      input: "A=1\r\n",
      want: `A=1\r\n${V}="${ours}"\r\n`,
    },
    {
      name: "text after the closing quote is part of the value (systemd has no trailing comments)",
      input: `${V}="--v=2" # note\n`,
      want: `${V}="--v=2" # note ${ours}\n`,
    },
    {
      name: "whitespace around = and trailing whitespace kept",
      input: `  ${V} =  --v=2  \n`,
      want: `  ${V} =  --v=2 ${ours}  \n`,
    },
    {
      name: "multi-line double-quoted value: ours before the closing quote",
      input: `${V}="--a\n--b"\n`,
      want: `${V}="--a\n--b ${ours}"\n`,
    },
    {
      name: "backslash-continued unquoted value: ours at its end",
      input: `${V}=--a \\\n--b\n`,
      want: `${V}=--a \\\n--b ${ours}\n`,
    },
    {
      name: "unterminated quote at the end of the file: ours inside it",
      input: `${V}="--a`,
      want: `${V}="--a ${ours}`,
    },
    {
      name: "a value the generations read differently, untouched: ours read the same by all",
      input: `${V}="--a=x\\\\y"\n`,
      want: `${V}="--a=x\\\\y ${ours}"\n`,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const once = edit(c.input);
      assert.equal(once, c.want);
      assert.equal(edit(once), once, "not idempotent");
      assert.deepEqual(readProviderFlags(once, V), flags);
      assert.deepEqual((readFlagValues(once, V) ?? []).slice(-2), oursWords);
      for (const d of dialects) {
        const words = loadEnvironmentFile(once, d);
        assert.ok(words.ok, d.name);
        assert.match(words.env.get(V) ?? "", new RegExp(`${ours}["']?$`), d.name);
      }
    });
  }

  it("flags null on a file without ours changes nothing", () => {
    for (const c of cases) {
      if (c.input === null || c.input.includes("image")) continue;
      assert.equal(edit(c.input, null), c.input);
    }
  });

  it("removal takes ours out of a file someone changed after us, keeping their change", () => {
    const input = `${V}="--v=2 ${ours} --x"\n`;
    assert.equal(edit(input, null), `${V}="--v=2 --x"\n`);
    assert.equal(editFlagValue(`--v=2 ${ours} --x`, null), "--v=2 --x");
  });

  it("moving to new paths replaces ours in place", () => {
    const moved = { configPath: "/n/c.yaml", binDir: "/n/bin" };
    const input = `# c\n${V}='--v=2'\n`;
    const next = edit(edit(input), moved);
    assert.equal(
      next,
      `# c\n${V}='--v=2 --image-credential-provider-bin-dir=/n/bin --image-credential-provider-config=/n/c.yaml'\n`,
    );
    assert.equal(edit(next, null), input);
  });

  it("refuses our paths when the kubelet could not get them as one word each", () => {
    const r = editKubeletFlagsFile(`${V}=\n`, V, { ...flags, binDir: "/a b" }, "/f");
    if (r.ok) assert.fail("accepted");
    assert.match(r.problems[0]?.message ?? "", /--image-credential-provider-bin-dir="\/a b"/);
  });

  const refusals: { name: string; input: string; why: RegExp }[] = [
    {
      name: "a value that is not UTF-8: systemd does not load the file, ours would never arrive",
      input: `${V}=--node-labels=caf\xe9\n`,
      why: /^\/etc\/default\/kubelet:1: systemd does not load this file: the value of "KUBELET_EXTRA_ARGS" is not UTF-8/,
    },
    {
      name: "a NUL byte",
      input: `${V}=\n\0`,
      why: /:2: systemd does not load this file: it holds a NUL byte/,
    },
    {
      name: "systemd before 254 reads our line as part of a comment ending in a backslash",
      input: `# note \\\n${V}=--v=2\n`,
      why: /:2: systemd before 254 .* would read KUBELET_EXTRA_ARGS as unset/,
    },
    {
      name: "an unterminated quote in another variable would swallow an appended line",
      input: 'A="open\n',
      why: /:1: editing KUBELET_EXTRA_ARGS would change how systemd reads "A"/,
    },
    {
      name: "a trailing backslash at the end of the file would continue into an appended line",
      input: "A=x\\",
      why: /:1: editing KUBELET_EXTRA_ARGS would change how systemd reads "A"/,
    },
    {
      name: "-- in the value: flags after it are arguments to the kubelet",
      input: `${V}="--v=2 --"\n`,
      why: /holds "--"/,
    },
  ];
  for (const c of refusals) {
    it(`refuses: ${c.name}`, () => {
      assert.match(refusal(c.input), c.why);
      assert.equal(edit(c.input, null), c.input, "removal must still work");
    });
  }
});

describe("add then remove gives back the original bytes", () => {
  /** File shapes around the assignment: every quoting, line ending and neighbour we know of. */
  const values = [
    "",
    '""',
    "''",
    "--v=2",
    '"--v=2"',
    "'--v=2'",
    '"--v=2 "',
    "'--v=2  --x'",
    "\"--a\" '--b'c",
    "--a \\\n  --b",
    '"--a\n--b"',
    "'--a\n'",
    "  --v=2  ",
    '"--v=2"  ',
    '"--label=\\"x y\\""',
    "--a\\ b",
    "'caf\xc3\xa9'",
  ];
  const around: [string, string][] = [
    ["", "\n"],
    ["", ""],
    ["# c\n", "\n# trailing\n"],
    ["A=1\r\n", "\r\n"],
    ["\xef\xbb\xbf# BOM first\n", "\n"],
    ["# caf\xe9, Latin-1 in a comment\n", "\n; other comment \xff\n"],
    [`${V}=--stale\n`, "\n"],
    [`export ${V}=--ignored\n`, "\n"],
    ["", "\nB='multi\nline'\n"],
  ];
  const files = [
    "",
    "\n",
    "A=1",
    "A=1\n",
    "A=1\r\n",
    "# only a comment",
    "\xef\xbb\xbfA=1\n",
    ...around.flatMap(([pre, post]) => values.map((v) => `${pre}${V}=${v}${post}`)),
  ];
  for (const [i, original] of files.entries()) {
    it(`shape ${String(i)}: ${JSON.stringify(original)}`, () => {
      const added = edit(original);
      assert.deepEqual(readProviderFlags(added, V), flags);
      assert.equal(edit(added), added, "not idempotent");
      const others = (t: string): [string, string][] => {
        const l = loadEnvironmentFile(t);
        return l.ok ? [...l.env].filter(([k]) => k !== V) : [];
      };
      assert.deepEqual(others(added), others(original), "another variable changed");
      const removed = edit(added, null);
      assert.equal(removed, original);
      // As bytes, the way the host code reads and writes them.
      assert.deepEqual(bytesOf(removed), bytesOf(original));
    });
  }

  it("random files: every one we edit comes back byte for byte", () => {
    const pieces = [
      ...[`${V}=`, `${V} = `, "A=", "#", ";", " ", "\t", "\n", "\r\n", "'", '"', "\\", "\\\n"],
      ...["--v=2", "x y", "\xe9", "\xef\xbb\xbf", "export ", "=", "`", "$"],
    ];
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * n);
    };
    let edited = 0;
    let rewritten = 0;
    for (let i = 0; i < 3000; i++) {
      let original = "";
      for (let k = random(12); k >= 0; k--) original += pieces[random(pieces.length)] ?? "";
      const r = editKubeletFlagsFile(original, V, flags, "/f");
      if (!r.ok) continue; // a file no generation-proof edit exists for (refused, as above)
      edited++;
      const name = JSON.stringify(original);
      assert.deepEqual(readProviderFlags(r.value, V), flags, name);
      assert.equal(edit(r.value), r.value, name);
      const removed = edit(r.value, null);
      if (isInsertion(original, r.value)) assert.equal(removed, original, name);
      else {
        // Rewritten whole (say a value ending in a backslash, which any word after it would
        // join): the original bytes are gone, its words are not.
        rewritten++;
        assert.deepEqual(readFlagValues(removed, V), readFlagValues(original, V), name);
      }
    }
    assert.ok(edited > 1000, `only ${String(edited)} of 3000 edited`);
    assert.ok(rewritten < edited / 20, `${String(rewritten)} of ${String(edited)} rewritten whole`);
  });
});

/** Whether `after` is `before` with one run of bytes inserted (or appended). */
function isInsertion(before: string, after: string): boolean {
  let i = 0;
  while (i < before.length && before[i] === after[i]) i++;
  return after.endsWith(before.slice(i)) && after.length - (before.length - i) >= i;
}

describe("editFlagValue", () => {
  it("edits a value as systemd sees it, word by word", () => {
    assert.equal(editFlagValue("", flags), ours);
    assert.equal(editFlagValue("--v=2", flags), `--v=2 ${ours}`);
    assert.equal(
      editFlagValue("--image-credential-provider-config /x '--a b'", flags),
      `'--a b' ${ours}`,
    );
    assert.equal(editFlagValue(`--v=2 ${ours}`, null), "--v=2");
  });
});

describe("byte strings (installer/core/node/byte-string.ts)", () => {
  it("every byte is one char and comes back as that byte", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const s = byteString(all);
    assert.equal(s.length, 256);
    assert.equal(s.charCodeAt(0xe9), 0xe9);
    assert.deepEqual(bytesOf(s), all);
    assert.equal(byteString(new Uint8Array(100_000).fill(0x41)).length, 100_000);
  });
  it("refuses a string that is not one (a char above 255)", () => {
    assert.throws(() => bytesOf("caf\u00e9\u20ac"), /not a byte string/);
  });
});
