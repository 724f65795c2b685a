/**
 * The few systemd unit rules the stand-in init (node-init.ts) needs to run the kubelet the way a
 * kubeadm node's systemd does: `kubelet.service` plus its drop-ins, `Environment=`,
 * `EnvironmentFile=` (read at every start), and `ExecStart=` with systemd's variable expansion
 * (`$VAR` splits into words, `${VAR}` stays one word). Pure: text in, values out.
 */

export interface KubeletUnit {
  /** ExecStart as written, split into words; expanded at each start. */
  readonly execStart: readonly string[];
  readonly environment: ReadonlyMap<string, string>;
  /** EnvironmentFile= paths; `optional` for the `-` prefix (a missing file is then no error). */
  readonly environmentFiles: readonly { readonly path: string; readonly optional: boolean }[];
  readonly restartAlways: boolean;
  readonly restartSecMs: number;
}

/** Splits on unquoted whitespace, honouring "..." and '...' (quotes removed, as systemd does). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < text.length)
        word = (word ?? "") + text.charAt(++i);
      else word = (word ?? "") + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= "";
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (quote !== null) throw new Error(`unterminated ${quote} in: ${text}`);
  if (word !== null) words.push(word);
  return words;
}

/** `KEY=VALUE` lines of an EnvironmentFile (comments with # or ;, optional quotes, `\` continuation). */
export function parseEnvironmentFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  const joined = text.replace(/\\\n/g, "");
  for (const raw of joined.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const words = value === "" ? [] : splitWords(value);
    // systemd keeps an unquoted value's inner whitespace; quoted, it is one word anyway.
    env.set(key, /^["']/.test(value) ? words.join(" ") : value);
  }
  return env;
}

function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|min)?$/.exec(value.trim());
  if (m === null) throw new Error(`unsupported duration: ${value}`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "min" ? n * 60_000 : n * 1000;
}

/** The unit file followed by its drop-ins in name order (the caller sorts and reads them). */
export function parseUnit(texts: readonly string[]): KubeletUnit {
  let execStart: string[] = [];
  const environment = new Map<string, string>();
  const environmentFiles: { path: string; optional: boolean }[] = [];
  let restartAlways = false;
  let restartSecMs = 100; // systemd's default RestartSec
  for (const text of texts) {
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#") || line.startsWith(";") || line.startsWith("[")) {
        continue;
      }
      const eq = line.indexOf("=");
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      if (key === "ExecStart") {
        // An empty ExecStart= in a drop-in resets the list, as kubeadm's drop-in does.
        execStart = value === "" ? [] : splitWords(value);
      } else if (key === "Environment") {
        for (const assignment of splitWords(value)) {
          const at = assignment.indexOf("=");
          if (at > 0) environment.set(assignment.slice(0, at), assignment.slice(at + 1));
        }
      } else if (key === "EnvironmentFile") {
        const optional = value.startsWith("-");
        environmentFiles.push({ path: optional ? value.slice(1) : value, optional });
      } else if (key === "Restart") {
        restartAlways = value === "always";
      } else if (key === "RestartSec") {
        restartSecMs = parseDuration(value);
      }
    }
  }
  if (execStart.length === 0) throw new Error("unit has no ExecStart");
  return { execStart, environment, environmentFiles, restartAlways, restartSecMs };
}

/** ExecStart with `$VAR` (split into words, none if empty) and `${VAR}` (one word) expanded. */
export function expandExecStart(
  words: readonly string[],
  env: ReadonlyMap<string, string>,
): string[] {
  const out: string[] = [];
  for (const word of words) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole?.[1] !== undefined) {
      out.push(...(env.get(whole[1]) ?? "").split(/\s+/).filter((w) => w !== ""));
      continue;
    }
    out.push(
      word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env.get(name) ?? ""),
    );
  }
  return out;
}
