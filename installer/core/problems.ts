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
