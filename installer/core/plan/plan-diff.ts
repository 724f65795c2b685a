import type { Credential } from "../../../provider/core/keyring.ts";
import { parsePolicy } from "../../../provider/core/policy.ts";
import type { FileWrite, Plan } from "./plan.ts";
import { sha256Hex } from "../node/state.ts";

/**
 * `--dry-run` output: the plan as a unified diff. Of the policy file only the rules and the
 * registry keys are shown (never a username or password), and the provider binary is summarised
 * by size and hash.
 */

/** Lines with their newline, so a last line without one differs from the same line with one. */
function splitLines(text: string): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length;) {
    const nl = text.indexOf("\n", at);
    const end = nl === -1 ? text.length : nl + 1;
    out.push(text.slice(at, end));
    at = end;
  }
  return out;
}

type Op = { readonly kind: " " | "-" | "+"; readonly line: string };

/**
 * The most cells of the edit-script table (8 bytes each): files nodecred edits are a few hundred
 * lines, but a node's own config can be large; past this the part between the common head and
 * tail is shown as replaced whole, which is still a correct diff, and the memory stays bounded.
 */
export const maxDiffCells = 1 << 20;

/**
 * A shortest edit script (deletions before insertions), over what lies between the lines both
 * sides start and end with; the middle as a whole replacement when its table would be too large.
 */
export function editScript(a: readonly string[], b: readonly string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail++;
  }
  const kept = (lines: readonly string[]): Op[] => lines.map((line) => ({ kind: " ", line }));
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const middle =
    (midA.length + 1) * (midB.length + 1) > maxDiffCells
      ? [
          ...midA.map((line): Op => ({ kind: "-", line })),
          ...midB.map((line): Op => ({ kind: "+", line })),
        ]
      : lcsScript(midA, midB);
  return [...kept(a.slice(0, head)), ...middle, ...kept(a.slice(a.length - tail))];
}

/** lcs[i][j]: the longest common subsequence of a[i..] and b[j..]. */
function lcsTable(a: readonly string[], b: readonly string[]): number[][] {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    const row = lcs[i] ?? [];
    const next = lcs[i + 1] ?? [];
    for (let j = b.length - 1; j >= 0; j--) {
      row[j] = a[i] === b[j] ? (next[j + 1] ?? 0) + 1 : Math.max(next[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  return lcs;
}

function lcsScript(a: readonly string[], b: readonly string[]): Op[] {
  const lcs = lcsTable(a, b);
  const at = (i: number, j: number): number => lcs[i]?.[j] ?? 0;
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const line = { a: a[i] ?? "", b: b[j] ?? "" };
    if (i < a.length && j < b.length && line.a === line.b) {
      ops.push({ kind: " ", line: line.a });
      i++;
      j++;
    } else if (i < a.length && (j >= b.length || at(i + 1, j) >= at(i, j + 1))) {
      ops.push({ kind: "-", line: line.a });
      i++;
    } else {
      ops.push({ kind: "+", line: line.b });
      j++;
    }
  }
  return ops;
}

const context = 3;

/** The [start, end) of each hunk: changes closer than 2 × context lines apart share one. */
function hunkBounds(ops: readonly Op[]): [number, number][] {
  const out: [number, number][] = [];
  let k = 0;
  while (k < ops.length) {
    if (ops[k]?.kind === " ") {
      k++;
      continue;
    }
    const start = Math.max(0, k - context);
    let end = k;
    for (;;) {
      let next = end;
      while (next < ops.length && ops[next]?.kind !== " ") next++;
      let gap = next;
      while (gap < ops.length && ops[gap]?.kind === " ") gap++;
      if (gap < ops.length && gap - next <= 2 * context) end = gap;
      else {
        end = Math.min(ops.length, next + context);
        break;
      }
    }
    out.push([start, end]);
    k = end;
  }
  return out;
}

/** One hunk: its `@@` line and its lines, GNU's `\ No newline at end of file` after a last line. */
function hunkText(ops: readonly Op[], start: number, end: number): string[] {
  let aStart = 0;
  let bStart = 0;
  for (let x = 0; x < start; x++) {
    if (ops[x]?.kind !== "+") aStart++;
    if (ops[x]?.kind !== "-") bStart++;
  }
  const hunk = ops.slice(start, end);
  const aLen = hunk.filter((o) => o.kind !== "+").length;
  const bLen = hunk.filter((o) => o.kind !== "-").length;
  const out = [
    `@@ -${aLen === 0 ? aStart : aStart + 1},${aLen} +${bLen === 0 ? bStart : bStart + 1},${bLen} @@`,
  ];
  for (const o of hunk) {
    if (o.line.endsWith("\n")) out.push(`${o.kind}${o.line.slice(0, -1)}`);
    else out.push(`${o.kind}${o.line}`, "\\ No newline at end of file");
  }
  return out;
}

export function unifiedDiff(path: string, before: string | null, after: string | null): string {
  const ops = editScript(splitLines(before ?? ""), splitLines(after ?? ""));
  const out = [
    `--- ${before === null ? "/dev/null" : `a${path}`}`,
    `+++ ${after === null ? "/dev/null" : `b${path}`}`,
  ];
  for (const [start, end] of hunkBounds(ops)) out.push(...hunkText(ops, start, end));
  return `${out.join("\n")}\n`;
}

function summary(bytes: Uint8Array | null): string {
  return bytes === null ? "(absent)" : `(${bytes.length} bytes, sha256 ${sha256Hex(bytes)})`;
}

const decoder = new TextDecoder();

/** The policy file as lines without secrets: its rules and the keys it holds credentials for. */
function policyLines(bytes: Uint8Array | null): {
  lines: string | null;
  creds: Map<string, { label: string; value: string }>;
} {
  const creds = new Map<string, { label: string; value: string }>();
  if (bytes === null) return { lines: null, creds };
  const parsed = parsePolicy(decoder.decode(bytes));
  if (!parsed.ok) return { lines: "(not a valid policy file)\n", creds };
  const { rules, grants } = parsed.policy;
  const lines = rules.map((r) => `matchImages ${r.pattern}\n`);
  // In a scoped file, each set's keys follow its line.
  const keys = (credentials: readonly Credential[], prefix: string, set: string): void => {
    for (const c of credentials) {
      creds.set(`${prefix}${c.key}`, {
        label: `credentials for ${JSON.stringify(c.key)}${set}`,
        value: `${c.username}\0${c.password}`,
      });
      lines.push(`credentials for ${JSON.stringify(c.key)}\n`);
    }
  };
  if (!grants.scoped) keys(grants.credentials, "", "");
  else {
    for (const set of grants.sets) {
      const from =
        set.secret === null ? "the default Secret" : `Secret ${JSON.stringify(set.secret)}`;
      const only = set.onlyWhenSelected ? ", only when selected" : "";
      lines.push(
        `set ${JSON.stringify(set.name)} from ${from}, namespaces ${JSON.stringify(set.namespaces)}${only}\n`,
      );
      // The set's name is part of the key: the same registry in two sets is two credentials.
      keys(set.credentials, `${set.name}\0`, ` in set ${JSON.stringify(set.name)}`);
    }
  }
  return { lines: lines.join(""), creds };
}

function describePolicyChange(path: string, before: Uint8Array | null, after: Uint8Array): string {
  const a = policyLines(before);
  const b = policyLines(after);
  const changed = [...b.creds].filter(
    ([k, v]) => a.creds.has(k) && a.creds.get(k)?.value !== v.value,
  );
  return [
    "  policy file, rules and registry keys (credentials not shown):\n",
    ...unifiedDiff(path, a.lines, b.lines)
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => `  ${l}\n`),
    ...changed.map(([, v]) => `  ${v.label} changed\n`),
  ].join("");
}

/** One write: its line, and what changes in it (a diff, the policy's rules, the binary's hash). */
function describeWrite(w: FileWrite): string {
  const mode = w.mode.toString(8).padStart(4, "0");
  const oldMode = w.before === null ? w.mode : w.before.mode & 0o7777;
  const beforeMode = oldMode === w.mode ? "" : ` (was ${oldMode.toString(8).padStart(4, "0")})`;
  const line = `${w.action} ${w.path} mode ${mode}${beforeMode}\n`;
  if (w.action === "chmod") return line;
  if (w.role === "credentials") {
    return line + describePolicyChange(w.path, w.before?.bytes ?? null, w.bytes);
  }
  if (w.role === "provider-binary") {
    return `${line}  ${summary(w.before?.bytes ?? null)} -> ${summary(w.bytes)}\n`;
  }
  const before = w.before === null ? null : decoder.decode(w.before.bytes);
  return line + unifiedDiff(w.path, before, decoder.decode(w.bytes));
}

export function describePlan(plan: Plan): string {
  const parts: string[] = [];
  for (const d of plan.mkdirs) {
    parts.push(`mkdir ${d.path} mode ${d.mode.toString(8).padStart(4, "0")}\n`);
  }
  parts.push(...plan.writes.map(describeWrite));
  const removalsLater = plan.removalsAfterRestart && plan.restart !== null;
  if (!removalsLater) for (const r of plan.removals) parts.push(`remove ${r.path}\n`);
  for (const d of plan.rmdirs) parts.push(`rmdir ${d} (if empty)\n`);
  if (plan.restart !== null) {
    parts.push(`restart ${plan.restart.unit}: ${plan.restart.reasons.join("; ")}\n`);
  } else if (plan.writes.some((w) => w.role === "credentials" && w.action !== "chmod")) {
    parts.push(
      "no kubelet restart: the kubelet's config is unchanged, the provider reads the new policy file on the next pull\n",
    );
  }
  if (removalsLater) {
    for (const r of plan.removals) {
      parts.push(
        `remove ${r.path} (once the kubelet runs healthy on the new config; kept while its restart is pending)\n`,
      );
    }
  }
  return parts.length === 0 ? "no changes\n" : parts.join("");
}
