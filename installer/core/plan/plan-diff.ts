import type { Credential } from "../../../provider/core/keyring.ts";
import { parsePolicy } from "../../../provider/core/policy.ts";
import type { Plan } from "./plan.ts";
import { sha256Hex } from "../node/state.ts";

/**
 * `--dry-run` output: the plan as a unified diff. Of the policy file only the rules and the
 * registry keys are shown (never a username or password), and the provider binary is summarised
 * by size and hash.
 */

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

type Op = { readonly kind: " " | "-" | "+"; readonly line: string };

/** LCS edit script; the files involved are a few hundred lines at most. */
export function editScript(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] ?? [];
    const next = lcs[i + 1] ?? [];
    for (let j = m - 1; j >= 0; j--) {
      row[j] = a[i] === b[j] ? (next[j + 1] ?? 0) + 1 : Math.max(next[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: " ", line: a[i] ?? "" });
      i++;
      j++;
    } else if (i < n && (j >= m || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) {
      ops.push({ kind: "-", line: a[i] ?? "" });
      i++;
    } else {
      ops.push({ kind: "+", line: b[j] ?? "" });
      j++;
    }
  }
  return ops;
}

export function unifiedDiff(path: string, before: string | null, after: string | null): string {
  const a = splitLines(before ?? "");
  const b = splitLines(after ?? "");
  const ops = editScript(a, b);
  const out = [
    `--- ${before === null ? "/dev/null" : `a${path}`}`,
    `+++ ${after === null ? "/dev/null" : `b${path}`}`,
  ];
  const context = 3;
  let k = 0;
  while (k < ops.length) {
    if (ops[k]?.kind === " ") {
      k++;
      continue;
    }
    // Grow a hunk around this change, merging changes closer than 2*context lines apart.
    const start = Math.max(0, k - context);
    let end = k;
    while (end < ops.length) {
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
    let aStart = 0;
    let bStart = 0;
    for (let x = 0; x < start; x++) {
      if (ops[x]?.kind !== "+") aStart++;
      if (ops[x]?.kind !== "-") bStart++;
    }
    const hunk = ops.slice(start, end);
    const aLen = hunk.filter((o) => o.kind !== "+").length;
    const bLen = hunk.filter((o) => o.kind !== "-").length;
    out.push(
      `@@ -${aLen === 0 ? aStart : aStart + 1},${aLen} +${bLen === 0 ? bStart : bStart + 1},${bLen} @@`,
    );
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    k = end;
  }
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

export function describePlan(plan: Plan): string {
  const parts: string[] = [];
  for (const d of plan.mkdirs)
    parts.push(`mkdir ${d.path} mode ${d.mode.toString(8).padStart(4, "0")}\n`);
  for (const w of plan.writes) {
    const mode = w.mode.toString(8).padStart(4, "0");
    const oldMode = w.before === null ? w.mode : w.before.mode & 0o7777;
    const beforeMode = oldMode === w.mode ? "" : ` (was ${oldMode.toString(8).padStart(4, "0")})`;
    parts.push(`${w.action} ${w.path} mode ${mode}${beforeMode}\n`);
    if (w.action === "chmod") continue;
    if (w.role === "credentials") {
      parts.push(describePolicyChange(w.path, w.before?.bytes ?? null, w.bytes));
    } else if (w.role === "provider-binary") {
      parts.push(`  ${summary(w.before?.bytes ?? null)} -> ${summary(w.bytes)}\n`);
    } else {
      parts.push(
        unifiedDiff(
          w.path,
          w.before === null ? null : decoder.decode(w.before.bytes),
          decoder.decode(w.bytes),
        ),
      );
    }
  }
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
