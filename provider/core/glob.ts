// Go's path/filepath.Match on Unix, which the kubelet applies to each dot-separated host segment.
// Ported rune for rune: `*` (never across "/"), `?`, `[...]` classes with ranges and `^` negation,
// and backslash escapes. A malformed pattern is an error in Go; the kubelet treats that as "no match".

export type GlobResult = "match" | "no-match" | "bad-pattern";

type Runes = readonly string[];

const SEPARATOR = "/";

/** filepath.Match(pattern, name). */
export function goFilepathMatch(pattern: string, name: string): GlobResult {
  let pat: Runes = Array.from(pattern);
  let nm: Runes = Array.from(name);
  outer: while (pat.length > 0) {
    const scanned = scanChunk(pat);
    const { star, chunk } = scanned;
    pat = scanned.rest;
    if (star && chunk.length === 0) {
      // A trailing * matches the rest of the name unless it holds a separator.
      return nm.includes(SEPARATOR) ? "no-match" : "match";
    }
    const first = matchChunk(chunk, nm);
    if (first.kind === "ok" && (first.rest.length === 0 || pat.length > 0)) {
      nm = first.rest;
      continue;
    }
    if (first.kind === "bad") return "bad-pattern";
    if (star) {
      for (let i = 0; i < nm.length && nm[i] !== SEPARATOR; i++) {
        const t = matchChunk(chunk, nm.slice(i + 1));
        if (t.kind === "ok") {
          if (pat.length === 0 && t.rest.length > 0) continue;
          nm = t.rest;
          continue outer;
        }
        if (t.kind === "bad") return "bad-pattern";
      }
    }
    return "no-match";
  }
  return nm.length === 0 ? "match" : "no-match";
}

interface Chunk {
  readonly star: boolean;
  readonly chunk: Runes;
  readonly rest: Runes;
}

function scanChunk(pattern: Runes): Chunk {
  let p = pattern;
  let star = false;
  while (p.length > 0 && p[0] === "*") {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\") {
      if (i + 1 < p.length) i++;
    } else if (c === "[") {
      inRange = true;
    } else if (c === "]") {
      inRange = false;
    } else if (c === "*" && !inRange) {
      return { star, chunk: p.slice(0, i), rest: p.slice(i) };
    }
  }
  return { star, chunk: p, rest: [] };
}

type ChunkResult =
  | { readonly kind: "ok"; readonly rest: Runes }
  | { readonly kind: "fail" }
  | { readonly kind: "bad" };

// Like Go, keeps scanning the chunk after a mismatch so that a malformed pattern is still reported.
function matchChunk(chunkIn: Runes, sIn: Runes): ChunkResult {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    failed = failed || s.length === 0;
    const head = chunk[0];
    if (head === "[") {
      let r = "";
      if (!failed) {
        r = s[0] ?? "";
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === "^") {
        negated = true;
        chunk = chunk.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === "]" && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk);
        if (lo === undefined) return { kind: "bad" };
        chunk = lo.rest;
        let hi = lo;
        if (chunk[0] === "-") {
          const h = getEsc(chunk.slice(1));
          if (h === undefined) return { kind: "bad" };
          hi = h;
          chunk = h.rest;
        }
        if (!failed) {
          const cp = r.codePointAt(0) ?? -1;
          match = match || (lo.cp <= cp && cp <= hi.cp);
        }
        nrange++;
      }
      failed = failed || match === negated;
    } else if (head === "?") {
      if (!failed) {
        failed = s[0] === SEPARATOR;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      if (head === "\\") {
        chunk = chunk.slice(1);
        if (chunk.length === 0) return { kind: "bad" };
      }
      if (!failed) {
        failed = chunk[0] !== s[0];
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? { kind: "fail" } : { kind: "ok", rest: s };
}

interface Esc {
  readonly cp: number;
  readonly rest: Runes;
}

function getEsc(chunkIn: Runes): Esc | undefined {
  let chunk = chunkIn;
  if (chunk.length === 0 || chunk[0] === "-" || chunk[0] === "]") return undefined;
  if (chunk[0] === "\\") {
    chunk = chunk.slice(1);
    if (chunk.length === 0) return undefined;
  }
  const cp = (chunk[0] ?? "").codePointAt(0) ?? 0;
  const rest = chunk.slice(1);
  if (rest.length === 0) return undefined;
  return { cp, rest };
}

/** False when some chunk of the pattern is malformed, so that filepath.Match can never succeed. */
export function isWellFormedGlob(pattern: string): boolean {
  let pat: Runes = Array.from(pattern);
  while (pat.length > 0) {
    const { chunk, rest } = scanChunk(pat);
    if (matchChunk(chunk, []).kind === "bad") return false;
    pat = rest;
  }
  return true;
}
