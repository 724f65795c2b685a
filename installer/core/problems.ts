/**
 * A problem found while checking input, with the path of the offending field in the
 * style the kubelet uses (`providers[0].matchImages[1]`). Every check returns all the
 * problems it finds rather than stopping at the first, so a user fixes them in one go.
 */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly Problem[] };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T>(problems: readonly Problem[]): Result<T> {
  return { ok: false, problems };
}

export function problem(path: string, message: string): Problem {
  return { path, message };
}

/** `path: message`, the form used in logs, errors and the README. */
export function formatProblem(p: Problem): string {
  return p.path === "" ? p.message : `${p.path}: ${p.message}`;
}

/** Joins a parent path and a child key (`a` + `b` → `a.b`, `` + `b` → `b`). */
export function child(parent: string, key: string): string {
  return parent === "" ? key : `${parent}.${key}`;
}

export function index(parent: string, i: number): string {
  return `${parent}[${i}]`;
}

/** The first `chars` characters of a value and its length, for messages about long values. */
export function preview(value: string, chars = 40): string {
  if (value.length <= chars) return JSON.stringify(value);
  const head = Array.from(value.slice(0, chars + 1))
    .slice(0, chars)
    .join("");
  return `${JSON.stringify(head)}… (${String(value.length)} characters)`;
}

/** A value quoted in full when it is short (up to 200 characters), else as a `preview`. */
export function quote(value: string): string {
  return value.length <= 200 ? JSON.stringify(value) : preview(value);
}

/** The most problems reported at once, and the longest message: every one is written to logs and Events. */
const maxProblems = 100;
const maxMessageChars = 1024;

/**
 * A safety net under the messages: at most maxProblems, each at most maxMessageChars (the checks
 * themselves quote long values with `preview`), with a last line saying how many were left out.
 */
export function boundProblems(problems: readonly Problem[]): Problem[] {
  const cut = (s: string, n: number): string =>
    s.length <= n ? s : `${s.slice(0, n)}… (${String(s.length)} characters)`;
  const out = problems
    .slice(0, maxProblems)
    .map((p) => problem(cut(p.path, 256), cut(p.message, maxMessageChars)));
  if (problems.length > maxProblems) {
    out.push(problem("", `… and ${String(problems.length - maxProblems)} more problems`));
  }
  return out;
}
