import { problem, type Result } from "./problems.ts";

/**
 * In-place edit of the environment file that carries the kubelet's extra flags
 * (`/etc/sysconfig/kubelet`, `/etc/default/kubelet`: `KUBELET_EXTRA_ARGS=...`).
 *
 * Why in place rather than a systemd drop-in: systemd lets an `EnvironmentFile=` value win
 * over `Environment=`, so a drop-in setting KUBELET_EXTRA_ARGS is silently lost whenever the
 * env file assigns it (the RPM ships `KUBELET_EXTRA_ARGS=`). Editing the one line keeps every
 * other variable, flag, comment, quoting style and line ending as it was.
 *
 * The variable is expanded unquoted (`$KUBELET_EXTRA_ARGS`) on the ExecStart line, so systemd
 * splits it at whitespace and does not interpret quotes inside it; tokens are therefore
 * whitespace-separated. pflag takes the last occurrence of a flag, and KUBELET_EXTRA_ARGS is
 * the last variable on the kubeadm ExecStart line, so our flags go at the end.
 */

export const configFlag = "--image-credential-provider-config";
export const binDirFlag = "--image-credential-provider-bin-dir";
const ourFlags = [configFlag, binDirFlag];

export interface ProviderFlags {
  readonly configPath: string;
  readonly binDir: string;
}

interface Assignment {
  readonly lineIndex: number;
  readonly head: string; // `export KUBELET_EXTRA_ARGS=` with any indentation
  readonly quote: '"' | "'" | "";
  readonly inner: string;
  readonly tail: string; // after the closing quote (or trailing blanks when unquoted)
  readonly eol: string; // "\r" when the file uses CRLF
}

/** Renders our two flags, sorted, as they appear in the value. */
export function renderFlags(flags: ProviderFlags): string {
  return `${binDirFlag}=${flags.binDir} ${configFlag}=${flags.configPath}`;
}

function isOurFlag(token: string): "bare" | "joined" | null {
  for (const f of ourFlags) {
    if (token === f) return "bare";
    if (token.startsWith(`${f}=`)) return "joined";
  }
  return null;
}

/** Removes our flags (`--flag=v`, `--flag v`, repeated) and, if given, appends the new ones. */
export function editFlagValue(inner: string, flags: ProviderFlags | null): string {
  const parts = inner.split(/(\s+)/);
  let leading = "";
  let trailing = "";
  const items: { pre: string; tok: string }[] = [];
  let ws = "";
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      ws = part;
      return;
    }
    if (part === "") {
      if (i > 0) trailing = ws;
    } else if (items.length === 0) {
      leading = ws;
      items.push({ pre: "", tok: part });
    } else {
      items.push({ pre: ws, tok: part });
    }
    ws = "";
  });
  const kept: { pre: string; tok: string }[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === undefined) continue;
    const ours = isOurFlag(item.tok);
    if (ours === "bare") {
      i++; // pflag takes the next argument as the value, whatever it looks like
      continue;
    }
    if (ours === "joined") continue;
    kept.push(item);
  }
  let out = kept.map((it, k) => (k === 0 ? "" : it.pre) + it.tok).join("");
  if (flags !== null) out = out === "" ? renderFlags(flags) : `${out} ${renderFlags(flags)}`;
  return out === "" ? "" : leading + out + trailing;
}

function parseAssignment(
  line: string,
  lineIndex: number,
  variable: string,
): Assignment | "unsupported" | null {
  const eol = line.endsWith("\r") ? "\r" : "";
  const body = eol === "" ? line : line.slice(0, -1);
  const m = new RegExp(`^(\\s*(?:export\\s+)?${variable}=)(.*)$`).exec(body);
  if (m === null) return null;
  const head = m[1] ?? "";
  const rest = m[2] ?? "";
  const q = rest[0];
  if (q === '"' || q === "'") {
    let i = 1;
    while (i < rest.length && rest[i] !== q) i += q === '"' && rest[i] === "\\" ? 2 : 1;
    if (i >= rest.length) return "unsupported"; // value continues on the next line
    return { lineIndex, head, quote: q, inner: rest.slice(1, i), tail: rest.slice(i + 1), eol };
  }
  if (rest.endsWith("\\")) return "unsupported"; // line continuation
  const trimmed = rest.replace(/\s+$/, "");
  return { lineIndex, head, quote: "", inner: trimmed, tail: rest.slice(trimmed.length), eol };
}

/**
 * Returns the new file text. `text` null means the file does not exist; `flags` null removes
 * our flags (uninstall). Idempotent: applying the result again yields the same bytes.
 */
export function editKubeletFlagsFile(
  text: string | null,
  variable: string,
  flags: ProviderFlags | null,
  path: string,
): Result<string> {
  if (text === null) {
    if (flags === null) return { ok: true, value: "" };
    return { ok: true, value: `${variable}="${renderFlags(flags)}"\n` };
  }
  const lines = text.split("\n");
  const assignments: Assignment[] = [];
  for (let i = 0; i < lines.length; i++) {
    const a = parseAssignment(lines[i] ?? "", i, variable);
    if (a === "unsupported") {
      return {
        ok: false,
        problems: [
          problem(
            `${path}:${i + 1}`,
            `${variable} spans several lines (open quote or trailing backslash); edit it onto one line and re-run`,
          ),
        ],
      };
    }
    if (a !== null) assignments.push(a);
  }
  if (assignments.length === 0) {
    if (flags === null) return { ok: true, value: text };
    const sep = text === "" || text.endsWith("\n") ? "" : "\n";
    return { ok: true, value: `${text}${sep}${variable}="${renderFlags(flags)}"\n` };
  }
  // systemd keeps the last assignment; earlier ones only lose stale copies of our flags.
  const last = assignments[assignments.length - 1];
  for (const a of assignments) {
    const inner = editFlagValue(a.inner, a === last ? flags : null);
    lines[a.lineIndex] = `${a.head}${a.quote}${inner}${a.quote}${a.tail}${a.eol}`;
  }
  return { ok: true, value: lines.join("\n") };
}

/** Reads back the value of our flags as the kubelet would see them (last one wins). */
export function readProviderFlags(
  text: string,
  variable: string,
): { configPath: string | null; binDir: string | null } {
  let configPath: string | null = null;
  let binDir: string | null = null;
  for (const [i, line] of text.split("\n").entries()) {
    const a = parseAssignment(line, i, variable);
    if (a === null || a === "unsupported") continue;
    configPath = null;
    binDir = null;
    const tokens = a.inner.split(/\s+/).filter((t) => t !== "");
    for (let j = 0; j < tokens.length; j++) {
      const t = tokens[j] ?? "";
      for (const f of ourFlags) {
        let value: string | null = null;
        if (t === f) value = tokens[++j] ?? "";
        else if (t.startsWith(`${f}=`)) value = t.slice(f.length + 1);
        if (value === null) continue;
        if (f === configFlag) configPath = value;
        else binDir = value;
      }
    }
  }
  return { configPath, binDir };
}
