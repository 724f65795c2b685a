// The docs name only what exists: every relative link in every Markdown file of the repository
// resolves (the file is in the repository, its #anchor is a heading there, by GitHub's slug rules),
// every `npm run X` is a script of package.json, every repository path in backticks exists, and no
// doc refers to an issue number (a reader of the repository cannot see the tracker). Pure: reads the
// files git knows (tracked, plus new files not ignored, so a doc is checked before its first commit).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { describe, it } from "node:test";

const repo = join(import.meta.dirname, "..", "..");

/** What the checks see of a repository: its files (repo-relative, `/`-separated) and npm scripts. */
export interface RepoView {
  readonly files: ReadonlySet<string>;
  readonly read: (path: string) => string;
  readonly scripts: ReadonlySet<string>;
}

export interface DocProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** The directories that hold at least one file of the view ("" is the root). */
function directories(files: ReadonlySet<string>): Set<string> {
  const dirs = new Set<string>([""]);
  for (const f of files) {
    for (let d = posix.dirname(f); d !== "." && !dirs.has(d); d = posix.dirname(d)) dirs.add(d);
  }
  return dirs;
}

interface Line {
  readonly n: number;
  readonly text: string;
  readonly inFence: boolean;
}

/** Lines with whether each is inside a fenced code block (``` or ~~~); fence lines themselves too. */
function lines(text: string): Line[] {
  let fence: string | null = null;
  return text.split("\n").map((text, i) => {
    const open = /^\s{0,3}(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence === null && open !== undefined) {
      fence = open;
      return { n: i + 1, text, inFence: true };
    }
    if (fence !== null) {
      if (open !== undefined && open[0] === fence[0] && open.length >= fence.length) fence = null;
      return { n: i + 1, text, inFence: true };
    }
    return { n: i + 1, text, inFence: false };
  });
}

const codeSpan = /(`+)(.+?)\1/g;
const inlineLink = /!?\[((?:[^[\]]|\[[^\]]*\])*)\]\(\s*<?([^\s)>]*)>?(?:\s+"[^"]*")?\s*\)/g;

/** The text GitHub renders for a heading's inline markup: code spans and links keep their text. */
function headingText(raw: string): string {
  return raw
    .replace(/\s+#+\s*$/, "")
    .replace(inlineLink, "$1")
    .replace(codeSpan, "$2");
}

/** GitHub's heading anchor: lowercase, punctuation dropped (but - and _), each space a -. */
export function slug(heading: string): string {
  return headingText(heading)
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a Markdown file offers: heading slugs (repeats get -1, -2, ...) and HTML ids. */
export function anchors(text: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const l of lines(text)) {
    if (l.inFence) continue;
    const h = /^\s{0,3}#{1,6}\s+(.*)$/.exec(l.text)?.[1];
    if (h !== undefined) {
      const base = slug(h);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      out.add(count === 0 ? base : `${base}-${String(count)}`);
    }
    for (const m of l.text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) out.add(m[1] ?? "");
  }
  return out;
}

/** Paths a doc names in backticks, for which "does it exist" is a fair question. */
function pathTokens(code: string): string[] {
  return code
    .split(/\s+/)
    .map((t) => t.replace(/^[([]+|[,;)\]]+$/g, "").replace(/^\.\//, ""))
    .filter((t) => t.includes("/") && !t.startsWith("/") && !t.startsWith(".."))
    .filter((t) => !/[*?{}[\]<>$=@'"|:]/.test(t.replace(/:\d+(-\d+)?$/, "")))
    .map((t) => t.replace(/:\d+(-\d+)?$/, ""));
}

/** Every problem of one Markdown file `file` of `view`. */
export function checkMarkdown(view: RepoView, file: string): DocProblem[] {
  const problems: DocProblem[] = [];
  const dirs = directories(view.files);
  const exists = (p: string): boolean => view.files.has(p) || dirs.has(p.replace(/\/$/, ""));
  const here = posix.dirname(file) === "." ? "" : posix.dirname(file);
  const at = (line: number, message: string): void => {
    problems.push({ file, line, message });
  };
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (p: string): Set<string> => {
    let a = anchorCache.get(p);
    if (a === undefined) {
      a = anchors(view.read(p));
      anchorCache.set(p, a);
    }
    return a;
  };

  const checkLink = (line: number, target: string): void => {
    if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) return; // external (http:, mailto:)
    const hash = target.indexOf("#");
    const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
    const resolved =
      pathPart === ""
        ? file
        : posix.normalize(
            pathPart.startsWith("/") ? pathPart.slice(1) : posix.join(here, pathPart),
          );
    if (resolved.startsWith("..") || !exists(resolved)) {
      at(line, `link ${target}: ${resolved} is not in the repository`);
      return;
    }
    if (anchor === null || anchor === "") return;
    if (!resolved.endsWith(".md")) {
      if (!/^L\d+(-L\d+)?$/.test(anchor))
        at(line, `link ${target}: #${anchor} into a non-Markdown file`);
      return;
    }
    if (!anchorsOf(resolved).has(anchor)) {
      at(line, `link ${target}: no heading #${anchor} in ${resolved}`);
    }
  };

  /** `scripts/...` is always the repository's; another path counts when its first part exists. */
  const checkPath = (line: number, token: string): void => {
    const first = token.split("/")[0] ?? "";
    const local = posix.join(here, first);
    const base =
      first === "scripts" || (exists(first) && !(here !== "" && exists(local)))
        ? ""
        : here !== "" && exists(local)
          ? here
          : null;
    if (base === null) return; // not a path of this repository (a URL path, an API group, ...)
    const full = posix.normalize(posix.join(base, token));
    if (!exists(full)) at(line, `\`${token}\`: ${full} is not in the repository`);
  };

  for (const l of lines(view.read(file))) {
    // npm scripts and scripts/ paths are checked in code blocks too: they are commands to run.
    for (const m of l.text.matchAll(/\bnpm run(?:\s+--?[a-z-]+)*\s+([\w:.-]+)/g)) {
      const name = m[1] ?? "";
      if (!view.scripts.has(name)) at(l.n, `npm run ${name}: no such script in package.json`);
    }
    if (/\bnpm (?:test|t)\b/.test(l.text) && !view.scripts.has("test")) {
      at(l.n, "npm test: no test script in package.json");
    }
    for (const m of l.text.matchAll(/(?<![\w./-])scripts\/[\w./-]*[\w-](?![\w*{])/g)) {
      checkPath(l.n, m[0]);
    }
    if (l.inFence) continue;

    const spans = [...l.text.matchAll(codeSpan)].map((m) => m[2] ?? "");
    for (const code of spans) {
      for (const token of pathTokens(code))
        if (!token.startsWith("scripts/")) checkPath(l.n, token);
    }
    const prose = l.text.replace(codeSpan, "");
    for (const m of prose.matchAll(inlineLink)) checkLink(l.n, m[2] ?? "");
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(prose);
    if (def !== null) checkLink(l.n, def[1] ?? "");

    const words = prose.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, "").replace(inlineLink, "$1");
    const issue =
      /\b(?:issues?|PRs?|pull requests?|tickets?|bugs?)\s*(?:no\.?\s*)?#?\d+\b/i.exec(words) ??
      /(?<![\w&/#])#\d+\b/.exec(words) ??
      /\bGH-\d+\b/.exec(words);
    if (issue !== null) at(l.n, `refers to an issue number: "${issue[0]}"`);
  }
  return problems;
}

/**
 * Code and manifests name doc sections in prose (`see README "Quick start"`, `installer/README.md
 * "Exit codes"`): each named section must be a heading of that file. A bare README is the
 * repository's own README.md.
 */
export function checkSectionReferences(view: RepoView, file: string): DocProblem[] {
  const problems: DocProblem[] = [];
  const text = view.read(file);
  const headings = new Map<string, Set<string>>();
  const slugsOf = (p: string): Set<string> => {
    let h = headings.get(p);
    if (h === undefined) {
      h = new Set(
        lines(view.read(p))
          .filter((l) => !l.inFence)
          .map((l) => /^\s{0,3}#{1,6}\s+(.*)$/.exec(l.text)?.[1])
          .filter((t): t is string => t !== undefined)
          .map(slug),
      );
      headings.set(p, h);
    }
    return h;
  };
  text.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(/(?<![\w./-])((?:[\w.-]+\/)*README(?:\.md)?) "([^"]+)"/g)) {
      const named = m[1] ?? "";
      const target = named.endsWith(".md") ? named : `${named}.md`;
      const section = m[2] ?? "";
      if (!view.files.has(target)) {
        problems.push({ file, line: i + 1, message: `${named} "${section}": no ${target}` });
      } else if (!slugsOf(target).has(slug(section))) {
        problems.push({
          file,
          line: i + 1,
          message: `${named} "${section}": no such heading in ${target}`,
        });
      }
    }
  });
  return problems;
}

function gitFiles(): string[] {
  return execFileSync(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--deduplicate"],
    { cwd: repo, encoding: "utf8" },
  )
    .split("\0")
    .filter((f) => f !== "");
}

function repoView(): RepoView {
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  return {
    files: new Set(gitFiles()),
    read: (p) => readFileSync(join(repo, p), "utf8"),
    scripts: new Set(Object.keys(pkg.scripts)),
  };
}

/** A view of the given files, for the cases below. */
function fakeView(files: Record<string, string>, scripts: string[] = ["test", "demo"]): RepoView {
  return {
    files: new Set(Object.keys(files)),
    read: (p) => {
      const text = files[p];
      if (text === undefined) throw new Error(`no file ${p}`);
      return text;
    },
    scripts: new Set(scripts),
  };
}

const format = (ps: DocProblem[]): string =>
  ps.map((p) => `${p.file}:${String(p.line)}: ${p.message}`).join("\n");

describe("docs", () => {
  const view = repoView();
  const docs = [...view.files].filter((f) => f.endsWith(".md")).sort();

  it("has the user guide and the contributors' guide", () => {
    assert.ok(docs.includes("README.md"), "README.md");
    assert.ok(docs.includes("CONTRIBUTING.md"), "CONTRIBUTING.md");
  });

  for (const file of docs) {
    it(`${file}: links, anchors, npm scripts and paths exist; no issue numbers`, () => {
      const problems = checkMarkdown(view, file);
      assert.deepEqual(problems, [], format(problems));
    });
  }

  it('every section that code, manifests and docs name (README "Quick start") exists', () => {
    const texts = [...view.files]
      .filter((f) => /\.(ts|ya?ml|sh|md|txt|tpl|json)$/.test(f) || f.startsWith("scripts/"))
      .filter((f) => !f.startsWith("test/golden/") && f !== "package-lock.json")
      .filter((f) => f !== "test/ship/docs.test.ts") // its own bad cases
      .sort();
    const problems = texts.flatMap((f) => checkSectionReferences(view, f));
    assert.deepEqual(problems, [], format(problems));
  });

  it("README.md names the test command and links to where it is explained", () => {
    const readme = view.read("README.md");
    assert.match(readme, /npm ci && npm test/);
    assert.match(readme, /\]\(CONTRIBUTING\.md#running-the-tests\)/);
    assert.match(view.read("CONTRIBUTING.md"), /^npm ci && npm test$/m);
    assert.match(view.read(".ci/run"), /^npm ci && npm test$/m);
  });
});

describe("the docs checks", () => {
  it("slug GitHub's way: punctuation dropped, spaces to -, code and link text kept", () => {
    assert.equal(slug("Quick start"), "quick-start");
    assert.equal(
      slug("`matching: live` (the default) or `kubelet`"),
      "matching-live-the-default-or-kubelet",
    );
    assert.equal(
      slug("Credentials per namespace (`credentialSets`)"),
      "credentials-per-namespace-credentialsets",
    );
    assert.equal(slug("A [linked](https://x.y/z) heading ##"), "a-linked-heading");
    assert.equal(slug("snake_case & more"), "snake_case--more");
    assert.deepEqual(
      [...anchors("# A\n## A\n```\n# not a heading\n```\n## A\n")],
      ["a", "a-1", "a-2"],
    );
  });

  const good = fakeView({
    "README.md": [
      "# Title",
      "## Quick start",
      "See [the guide](docs/guide.md#setting-up), [here](#quick-start), [a folder](scripts/),",
      "[code](scripts/run.sh#L3) and [the web](https://example.com/issues/12).",
      "Run `scripts/run.sh` or `npm run demo`, read `docs/guide.md` and `core/x.ts`,",
      "label `nodecred.io/state`, image `registry.example.com/team/app:1.0`, `test/**/*.ts`.",
      "```sh",
      "npm ci && npm test   # and #12 here is a shell comment, in a code block",
      "```",
    ].join("\n"),
    "docs/guide.md": "# Guide\n\n## Setting up\n\nBack to [the start](../README.md#quick-start).\n",
    "scripts/run.sh": "#!/bin/sh\n",
  });

  it("pass a doc whose links, anchors, scripts and paths all exist", () => {
    assert.deepEqual(checkMarkdown(good, "README.md"), []);
    assert.deepEqual(checkMarkdown(good, "docs/guide.md"), []);
  });

  it("fail each broken reference, naming the line", () => {
    const bad = fakeView({
      "README.md": [
        "# Title",
        "[gone](docs/missing.md)", // 2
        "[wrong anchor](docs/guide.md#setting-upp)", // 3
        "[self](#no-such-heading)", // 4
        "`npm run bench:nothing` and `scripts/gone.sh`", // 5
        "`docs/nope.md` and [outside](../other/README.md)", // 6
        "Fixed in issue 14, see #12 and PR #3.", // 7
        "```sh",
        "scripts/also-gone --flag", // 9
        "```",
      ].join("\n"),
      "docs/guide.md": "# Guide\n\n## Setting up\n",
    });
    const got = checkMarkdown(bad, "README.md").map((p) => `${String(p.line)}: ${p.message}`);
    assert.deepEqual(got, [
      "2: link docs/missing.md: docs/missing.md is not in the repository",
      "3: link docs/guide.md#setting-upp: no heading #setting-upp in docs/guide.md",
      "4: link #no-such-heading: no heading #no-such-heading in README.md",
      "5: npm run bench:nothing: no such script in package.json",
      "5: `scripts/gone.sh`: scripts/gone.sh is not in the repository",
      "6: `docs/nope.md`: docs/nope.md is not in the repository",
      "6: link ../other/README.md: ../other/README.md is not in the repository",
      '7: refers to an issue number: "issue 14"',
      "9: `scripts/also-gone`: scripts/also-gone is not in the repository",
    ]);
  });

  it("fail a named section that is no heading of the file named", () => {
    const view = fakeView({
      "README.md": "# Title\n## Quick start\n",
      "installer/README.md": "# Installer\n## Exit codes\n",
      "manifests/a.yaml": [
        '# see README "Quick start" and installer/README.md "Exit codes"', // 1: fine
        '# see README "Large clusters"', // 2
        '# see installer/README.md "Exit code"', // 3
        '# see docs/README.md "Anything"', // 4
      ].join("\n"),
    });
    assert.deepEqual(
      checkSectionReferences(view, "manifests/a.yaml").map(
        (p) => `${String(p.line)}: ${p.message}`,
      ),
      [
        '2: README "Large clusters": no such heading in README.md',
        '3: installer/README.md "Exit code": no such heading in installer/README.md',
        '4: docs/README.md "Anything": no docs/README.md',
      ],
    );
  });

  it("catch each kind of issue reference", () => {
    for (const text of ["see #12", "(#7)", "Issue #3", "PR 45", "pull request 9", "GH-101"]) {
      const problems = checkMarkdown(fakeView({ "a.md": text }), "a.md");
      assert.equal(problems.length, 1, `${text}: ${format(problems)}`);
    }
    for (const text of [
      "KEP-4412",
      "[KEP](https://github.com/k/e/issues/4412)",
      "&#123;",
      "C#1x",
    ]) {
      assert.deepEqual(checkMarkdown(fakeView({ "a.md": text }), "a.md"), [], text);
    }
  });
});
