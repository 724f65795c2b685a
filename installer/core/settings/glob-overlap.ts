import { isWellFormedGlob, goFilepathMatch } from "../../../provider/core/glob.ts";
import { DEFAULT_REGISTRY_HOST, normalizeKey } from "../../../provider/core/keyring.ts";
import { isNamespaceName } from "../../../provider/core/scopes.ts";
import { parseSchemelessUrl } from "../../../provider/core/url-match.ts";

/**
 * Whether two of the kubelet's patterns can match one common string: two Go filepath.Match globs,
 * two namespace patterns (over valid namespace names), two registry keys (over images, with the
 * kubelet's URLsMatch rules). Credential sets use it to find two sets that would both answer one
 * pull (credential-sets.ts `setConflicts`).
 *
 * Globs are read as runes, as Go reads `?` and classes; Go compares literals byte by byte and lets
 * `*` stop inside a multi-byte character, which only matters for names that are not valid UTF-8
 * (no namespace or image host is). A malformed glob matches nothing (the kubelet's "no match").
 *
 * Cost: two globs of n and m tokens are compared by one pass over an (n+1)×(m+1) table, with the
 * work charged to a `Work` budget first, so no input costs more than the budget allows.
 */

/** A budget of steps; spending past it throws WorkExceeded. */
export class Work {
  readonly limit: number;
  used = 0;
  constructor(limit: number) {
    this.limit = limit;
  }
  spend(steps: number): void {
    this.used += steps;
    if (this.used > this.limit) throw new WorkExceeded(this.limit);
  }
}

export class WorkExceeded extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`more than ${String(limit)} steps`);
    this.limit = limit;
  }
}

/** No budget to speak of: for one-off comparisons of inputs already bounded. */
function unbounded(): Work {
  return new Work(Number.POSITIVE_INFINITY);
}

/** Sorted, disjoint, non-adjacent inclusive rune ranges. */
type Ranges = readonly (readonly [number, number])[];

/** One token of a glob: `*`, or one rune out of a set (a literal, `?`, a class). */
type Token =
  | { readonly star: true }
  | { readonly star: false; readonly set: Ranges; readonly literal: boolean };

const MAX_RUNE = 0x10ffff;
const SLASH = 0x2f;
const DOT = 0x2e;
const DASH = 0x2d;

function normalize(ranges: readonly (readonly [number, number])[]): Ranges {
  const sorted = [...ranges].filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(set: Ranges): Ranges {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

function intersect(a: Ranges, b: Ranges): Ranges {
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as readonly [number, number];
    const y = b[j] as readonly [number, number];
    const lo = Math.max(x[0], y[0]);
    const hi = Math.min(x[1], y[1]);
    if (lo <= hi) out.push([lo, hi]);
    if (x[1] < y[1]) i++;
    else j++;
  }
  return out;
}

function has(set: Ranges, rune: number): boolean {
  return set.some(([lo, hi]) => lo <= rune && rune <= hi);
}

const anyRune: Ranges = [[0, MAX_RUNE]];
/** What `?` and `*` match: any rune but the separator. */
const notSlash: Ranges = complement([[SLASH, SLASH]]);
/** What a host segment can hold: no separator, no dot (segments are split at dots). */
const hostAlphabet: Ranges = complement(
  normalize([
    [SLASH, SLASH],
    [DOT, DOT],
  ]),
);
/** What a namespace name can hold: a-z, 0-9, "-". */
const namespaceAlphabet: Ranges = normalize([
  [DASH, DASH],
  [0x30, 0x39],
  [0x61, 0x7a],
]);
const alphanumeric: Ranges = normalize([
  [0x30, 0x39],
  [0x61, 0x7a],
]);

/**
 * The tokens of a well-formed glob (provider/core/glob.ts isWellFormedGlob decides that, byte
 * for byte as Go does), or null for a malformed one.
 */
function tokenize(pattern: string): Token[] | null {
  if (!isWellFormedGlob(pattern)) return null;
  const runes = Array.from(pattern, (c) => c.codePointAt(0) ?? 0);
  const out: Token[] = [];
  let i = 0;
  const at = (k: number): number | undefined => runes[k];
  while (i < runes.length) {
    const c = at(i);
    if (c === 0x2a) {
      // Consecutive stars are one.
      if (out[out.length - 1]?.star !== true) out.push({ star: true });
      i++;
    } else if (c === 0x3f) {
      out.push({ star: false, set: notSlash, literal: false });
      i++;
    } else if (c === 0x5c) {
      out.push({ star: false, set: [[at(i + 1) ?? 0, at(i + 1) ?? 0]], literal: true });
      i += 2;
    } else if (c === 0x5b) {
      i++;
      const negated = at(i) === 0x5e;
      if (negated) i++;
      const ranges: [number, number][] = [];
      const esc = (): number => {
        if (at(i) === 0x5c) i++;
        const r = at(i) ?? 0;
        i++;
        return r;
      };
      while (!(at(i) === 0x5d && ranges.length > 0)) {
        if (i >= runes.length) return null; // well-formed classes are closed
        const lo = esc();
        let hi = lo;
        if (at(i) === DASH) {
          i++;
          hi = esc();
        }
        ranges.push([lo, hi]);
      }
      i++; // "]"
      const set = normalize(ranges);
      out.push({ star: false, set: negated ? complement(set) : set, literal: false });
    } else {
      out.push({ star: false, set: [[c ?? 0, c ?? 0]], literal: true });
      i++;
    }
  }
  return out;
}

// States of the automaton for namespace names (a DNS-1123 label without its length bound):
// nothing read yet, last rune alphanumeric, last rune "-". A name ends in ALNUM.
const START = 1;
const ALNUM = 2;
const DASHED = 4;

interface Alphabet {
  readonly runes: Ranges;
  /** What a star reads: the alphabet but the separator. */
  readonly star: Ranges;
  /** Track the namespace automaton (else one state: reachable). */
  readonly namespace: boolean;
}

function alphabetOf(runes: Ranges, namespace: boolean): Alphabet {
  return { runes, star: intersect(notSlash, runes), namespace };
}

const everything = alphabetOf(anyRune, false);
const hostSegments = alphabetOf(hostAlphabet, false);
const namespaces = alphabetOf(namespaceAlphabet, true);

/** Whether two range lists share a rune (no allocation: this runs for every cell). */
function meets(a: Ranges, b: Ranges): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as readonly [number, number];
    const y = b[j] as readonly [number, number];
    if (x[0] <= y[1] && y[0] <= x[1]) return true;
    if (x[1] < y[1]) i++;
    else j++;
  }
  return false;
}

/** A glob read over an alphabet: per token, whether it is a star, and the runes it reads. */
interface Compiled {
  readonly stars: readonly boolean[];
  readonly sets: readonly Ranges[];
}

function compile(tokens: readonly Token[], alphabet: Alphabet): Compiled {
  return {
    stars: tokens.map((t) => t.star),
    sets: tokens.map((t) => (t.star ? alphabet.star : intersect(t.set, alphabet.runes))),
  };
}

/** States after reading one rune both `a` and `b` admit, from `states`. */
function step(states: number, a: Ranges, b: Ranges, alphabet: Alphabet): number {
  if (states === 0) return 0;
  if (!alphabet.namespace) return meets(a, b) ? START : 0;
  const both = intersect(a, b);
  let out = 0;
  if (meets(both, alphanumeric)) out |= ALNUM;
  if ((states & (ALNUM | DASHED)) !== 0 && has(both, DASH)) out |= DASHED;
  return out;
}

/** The same, for any number of runes (two stars reading together). */
function closure(states: number, alphabet: Alphabet): number {
  if (!alphabet.namespace || states === 0) return states;
  // Two steps reach every state one more step could: the automaton has three.
  let out = states | step(states, alphabet.star, alphabet.star, alphabet);
  out |= step(out, alphabet.star, alphabet.star, alphabet);
  return out;
}

/**
 * The table of compiledOverlap: cell (i, j), the two prefixes a[0..i) and b[0..j) read so far,
 * holds the automaton states a common string can reach there.
 */
interface Table {
  readonly a: Compiled;
  readonly b: Compiled;
  readonly alphabet: Alphabet;
  readonly width: number;
  readonly cells: Uint8Array;
}

/** Carries the states of each cell of row i on to the cells that reading on from it reaches. */
function spreadRow(t: Table, i: number): void {
  const { cells, width } = t;
  const starA = t.a.stars[i] === true;
  const sa = t.a.sets[i];
  for (let j = 0; j < width; j++) {
    const k = i * width + j;
    let s = cells[k] ?? 0;
    if (s === 0) continue;
    const starB = t.b.stars[j] === true;
    if (starA && starB) {
      s = closure(s, t.alphabet);
      cells[k] = s;
    }
    // A star may match nothing.
    if (starA) cells[k + width] = (cells[k + width] ?? 0) | s;
    if (starB) cells[k + 1] = (cells[k + 1] ?? 0) | s;
    const sb = t.b.sets[j];
    if (sa === undefined || sb === undefined || (starA && starB)) continue;
    // One rune both read: a star reads it and stays, a single token moves on.
    const next = step(s, sa, sb, t.alphabet);
    if (next === 0) continue;
    const to = (starA ? i : i + 1) * width + (starB ? j : j + 1);
    cells[to] = (cells[to] ?? 0) | next;
  }
}

/**
 * The first runes, and the last, are read by the first tokens, and the last, of both: false when
 * these are single tokens that share no rune (there is nothing more to look at).
 */
function edgesMeet(a: Compiled, b: Compiled): boolean {
  const edge = (i: number, j: number): boolean =>
    a.stars[i] === true || b.stars[j] === true || meets(a.sets[i] ?? [], b.sets[j] ?? []);
  return edge(0, 0) && edge(a.sets.length - 1, b.sets.length - 1);
}

/** Whether two compiled globs match a common string over their alphabet: one pass over a Table. */
function compiledOverlap(a: Compiled, b: Compiled, alphabet: Alphabet, work: Work): boolean {
  const n = a.sets.length;
  const m = b.sets.length;
  work.spend(1);
  if (n > 0 && m > 0 && !edgesMeet(a, b)) return false;
  work.spend((n + 1) * (m + 1));
  const t: Table = { a, b, alphabet, width: m + 1, cells: new Uint8Array((n + 1) * (m + 1)) };
  t.cells[0] = START;
  for (let i = 0; i <= n; i++) spreadRow(t, i);
  const end = t.cells[n * t.width + m] ?? 0;
  return alphabet.namespace ? (end & ALNUM) !== 0 : end !== 0;
}

/** Whether filepath.Match(a, s) and filepath.Match(b, s) can both succeed for one string s. */
export function globsOverlap(a: string, b: string, work: Work = unbounded()): boolean {
  work.spend(a.length + b.length);
  const ta = tokenize(a);
  const tb = tokenize(b);
  if (ta === null || tb === null) return false;
  return compiledOverlap(compile(ta, everything), compile(tb, everything), everything, work);
}

/** The characters a glob treats specially; a pattern without them matches only itself. */
function isLiteral(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 0x2a || c === 0x3f || c === 0x5b || c === 0x5c) return false;
  }
  return true;
}

function matches(glob: string, name: string): boolean {
  return goFilepathMatch(glob, name) === "match";
}

// ---- Namespace patterns ----------------------------------------------------------------------

/** The longest namespace name (a DNS-1123 label). */
export const MAX_NAMESPACE_CHARS = 63;

function describeRune(r: number): string {
  return JSON.stringify(String.fromCodePoint(r));
}

/** Why a single-rune token admits none of a namespace name's characters. */
function noNamespaceRune(t: { readonly set: Ranges; readonly literal: boolean }): string {
  const rune = t.set[0]?.[0] ?? 0;
  const upper = rune >= 0x41 && rune <= 0x5a ? "; namespace names are lowercase" : "";
  return t.literal
    ? `${describeRune(rune)} never appears in a namespace name (only a-z, 0-9 and "-" do${upper})`
    : 'a class in it admits none of a-z, 0-9 and "-", the only characters of namespace names';
}

/** Per single-rune token (stars left out), the namespace characters it admits; or why one admits none. */
function namespaceSingles(tokens: readonly Token[]): Ranges[] | string {
  const singles: Ranges[] = [];
  for (const t of tokens) {
    if (t.star) continue;
    const allowed = intersect(t.set, namespaceAlphabet);
    if (allowed.length === 0) return noNamespaceRune(t);
    singles.push(allowed);
  }
  return singles;
}

/**
 * What one end of a name needs beyond the single tokens: 0 when the single there can be a letter
 * or digit, 1 when a star at that end can provide one, null when neither.
 */
function endNeeds(single: Ranges, end: Token | undefined): number | null {
  if (intersect(single, alphanumeric).length > 0) return 0;
  return end?.star === true ? 1 : null;
}

/**
 * Why a namespace pattern can match no valid namespace name (a DNS-1123 label: 1 to 63 of a-z,
 * 0-9 and "-", starting and ending with a letter or digit), or null when it can match one.
 * Exact: a pattern of k single-rune tokens (literals, `?`, classes) and stars matches a name when
 * every token admits one of a-z 0-9 "-", the first and last runes can be letters or digits (a
 * star at that end can provide one), and k plus what the ends need is at most 63.
 */
export function namespacePatternProblem(pattern: string): string | null {
  if (pattern === "") return "it is empty, and matches only the empty name";
  const tokens = tokenize(pattern);
  if (tokens === null) {
    return "it is not a well-formed glob (Go filepath.Match: a '[' class must be closed and not empty, '-' and ']' inside it escaped as '\\-' and '\\]'; a '\\' must escape something)";
  }
  const singles = namespaceSingles(tokens);
  if (typeof singles === "string") return singles;
  if (singles.length === 0) return null; // stars only: "a"
  const needFirst = endNeeds(singles[0] ?? [], tokens[0]);
  const needLast = endNeeds(singles[singles.length - 1] ?? [], tokens[tokens.length - 1]);
  if (needFirst === null) {
    return 'it always starts with "-"; namespace names start with a letter or digit';
  }
  if (needLast === null)
    return 'it always ends with "-"; namespace names end with a letter or digit';
  const shortest = singles.length + needFirst + needLast;
  if (shortest > MAX_NAMESPACE_CHARS) {
    return `it matches only names of ${String(shortest)} characters or more; namespace names have at most ${String(MAX_NAMESPACE_CHARS)}`;
  }
  return null;
}

/**
 * Whether two namespace patterns can both match one name of a-z, 0-9 and "-" that starts and
 * ends with a letter or digit. The 63-character bound is not part of it: two patterns that meet
 * only on longer names are taken to overlap (a refusal to be on the safe side, never a miss).
 */
export function namespacePatternsOverlap(a: string, b: string, work: Work = unbounded()): boolean {
  work.spend(a.length + b.length);
  // A literal pattern matches only itself, which must then be a namespace name.
  if (isLiteral(a)) return isNamespaceName(a) && (isLiteral(b) ? a === b : matches(b, a));
  if (isLiteral(b)) return isNamespaceName(b) && matches(a, b);
  const ta = tokenize(a);
  const tb = tokenize(b);
  if (ta === null || tb === null) return false;
  return compiledOverlap(compile(ta, namespaces), compile(tb, namespaces), namespaces, work);
}

/** Two patterns, one of each list, that can match one namespace, or null. */
export function firstNamespaceOverlap(
  a: readonly string[],
  b: readonly string[],
  work: Work = unbounded(),
): readonly [string, string] | null {
  const literalsB = new Set(b.filter(isLiteral));
  const globsB = b.filter((p) => !isLiteral(p));
  for (const p of a) {
    work.spend(1);
    if (isLiteral(p)) {
      if (literalsB.has(p) && isNamespaceName(p)) return [p, p];
      for (const q of globsB) if (namespacePatternsOverlap(p, q, work)) return [p, q];
    } else {
      for (const q of b) if (namespacePatternsOverlap(p, q, work)) return [p, q];
    }
  }
  return null;
}

// ---- Registry keys -----------------------------------------------------------------------------

/**
 * A registry key as the kubelet's keyring holds it (normalizeKey, then parseSchemelessUrl): the
 * host split into dot-segments, each a glob; the port, compared as a string; the path, a prefix
 * of the image's path.
 */
interface ParsedKey {
  /** The key as written in the Docker config. */
  readonly key: string;
  readonly hostParts: readonly string[];
  readonly port: string;
  readonly path: string;
  /** Some host segment is a glob (else the host matches only itself). */
  readonly glob: boolean;
  /** Per host segment: a glob's compiled form (read once per key), null for a literal one. */
  readonly segments: readonly (Compiled | null)[];
  /** Stands for the Docker Hub fallback of a key for DEFAULT_REGISTRY_HOST. */
  readonly hub: boolean;
}

/** Host + port: the literal keys that can only meet a key with exactly these. */
function hostKey(hostParts: readonly string[], port: string): string {
  return `${String(port.length)}:${port}${hostParts.join(".")}`;
}

/** Port + segment count: no two keys of different shapes match one image. */
function shapeKey(hostParts: readonly string[], port: string): string {
  return `${String(port.length)}:${port}${String(hostParts.length)}`;
}

function segmentKey(shape: string, i: number, segment: string): string {
  return `${shape}.${String(i)}.${segment}`;
}

/**
 * The parsed key, plus what the Docker Hub fallback adds, or nothing for a key that matches no
 * image: one the kubelet cannot parse, or with a malformed glob segment.
 */
function parseKey(key: string): ParsedKey[] {
  const normalized = normalizeKey(key);
  if (normalized === undefined) return [];
  const parsed = parseSchemelessUrl(normalized);
  if (!parsed.ok) return [];
  const { hostParts, port, path } = parsed.url;
  const segments: (Compiled | null)[] = [];
  for (const s of hostParts) {
    if (isLiteral(s)) {
      segments.push(null);
      continue;
    }
    const tokens = tokenize(s);
    if (tokens === null) return []; // a malformed segment: the key matches nothing
    segments.push(compile(tokens, hostSegments));
  }
  const glob = segments.some((s) => s !== null);
  const out: ParsedKey[] = [{ key, hostParts, port, path, glob, segments, hub: false }];
  if (normalized === DEFAULT_REGISTRY_HOST) {
    // The keyring's Docker Hub fallback (keyring.ts isDefaultRegistryMatch): when no key of the
    // set matches, credentials under index.docker.io answer an image on docker.io, and one whose
    // first segment has neither "." nor ":" — a one-segment host without a port. Taken as two
    // more keys: an over-approximation, since the fallback answers only when no other key of its
    // set does, so it may refuse two sets that would never both answer.
    const star = compile([{ star: true }], hostSegments);
    out.push(
      {
        key,
        hostParts: ["docker", "io"],
        port: "",
        path: "",
        glob: false,
        segments: [null, null],
        hub: true,
      },
      { key, hostParts: ["*"], port: "", path: "", glob: true, segments: [star], hub: true },
    );
  }
  return out;
}

/** The registry keys of one credential set, indexed for comparison with another set's. */
export interface RegistryKeyIndex {
  /** Literal keys by host + port, sorted by path. */
  readonly literals: ReadonlyMap<string, readonly ParsedKey[]>;
  /** Literal keys by shape and one of their segments (`shape.i.segment`). */
  readonly literalsBySegment: ReadonlyMap<string, readonly ParsedKey[]>;
  /** Literal keys by shape. */
  readonly literalsByShape: ReadonlyMap<string, readonly ParsedKey[]>;
  /** Glob keys by shape. */
  readonly globs: ReadonlyMap<string, readonly ParsedKey[]>;
  readonly size: number;
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list === undefined) map.set(k, [v]);
  else list.push(v);
}

export function indexRegistryKeys(
  keys: Iterable<string>,
  work: Work = unbounded(),
): RegistryKeyIndex {
  const literals = new Map<string, ParsedKey[]>();
  const literalsBySegment = new Map<string, ParsedKey[]>();
  const literalsByShape = new Map<string, ParsedKey[]>();
  const globs = new Map<string, ParsedKey[]>();
  let size = 0;
  for (const key of keys) {
    work.spend(key.length);
    for (const k of parseKey(key)) {
      size++;
      const shape = shapeKey(k.hostParts, k.port);
      if (k.glob) {
        push(globs, shape, k);
        continue;
      }
      push(literals, hostKey(k.hostParts, k.port), k);
      push(literalsByShape, shape, k);
      k.hostParts.forEach((s, i) => {
        push(literalsBySegment, segmentKey(shape, i, s), k);
      });
    }
  }
  for (const list of literals.values())
    list.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return { literals, literalsBySegment, literalsByShape, globs, size };
}

/** One key of each set that can match one image. */
export interface KeyOverlap {
  /** The keys as written; `hub`: the key's Docker Hub fallback is what overlaps. */
  readonly a: { readonly key: string; readonly hub: boolean };
  readonly b: { readonly key: string; readonly hub: boolean };
}

function overlapOf(x: ParsedKey, y: ParsedKey): KeyOverlap {
  return { a: { key: x.key, hub: x.hub }, b: { key: y.key, hub: y.hub } };
}

function pathsMeet(x: string, y: string): boolean {
  return x.startsWith(y) || y.startsWith(x);
}

/** The first key in a path-sorted list whose path is >= `path` (binary search). */
function firstFrom(list: readonly ParsedKey[], path: string): ParsedKey | undefined {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid]?.path ?? "") < path) lo = mid + 1;
    else hi = mid;
  }
  return list[lo];
}

/**
 * Two path-sorted lists of keys of one host: a pair where one path is a prefix of the other. The
 * strings starting with a prefix form one run in sorted order, starting at the first string not
 * below it, so one binary search per path suffices.
 */
function prefixPair(
  xs: readonly ParsedKey[],
  ys: readonly ParsedKey[],
  work: Work,
): KeyOverlap | null {
  work.spend((xs.length + ys.length) * (1 + Math.ceil(Math.log2(xs.length + ys.length + 1))));
  for (const x of xs) {
    const y = firstFrom(ys, x.path);
    if (y?.path.startsWith(x.path) === true) return overlapOf(x, y);
  }
  for (const y of ys) {
    const x = firstFrom(xs, y.path);
    if (x?.path.startsWith(y.path) === true) return overlapOf(x, y);
  }
  return null;
}

/** Two keys of the same shape meet when their paths do and each pair of host segments does. */
function keysMeet(
  x: ParsedKey,
  y: ParsedKey,
  work: Work,
  segmentsMeet: (i: number, xs: string, ys: string) => boolean,
): boolean {
  if (!pathsMeet(x.path, y.path)) return false;
  for (let i = 0; i < x.hostParts.length; i++) {
    const xs = x.hostParts[i] ?? "";
    const ys = y.hostParts[i] ?? "";
    work.spend(xs.length + ys.length);
    if (!segmentsMeet(i, xs, ys)) return false;
  }
  return true;
}

/** A glob key and a literal key of the same shape: the literal host must match the glob. */
function globMeetsLiteral(g: ParsedKey, l: ParsedKey, work: Work): boolean {
  return keysMeet(g, l, work, (_, gs, ls) => matches(gs, ls));
}

/** Two keys of the same shape, at least one a glob: every segment pair must overlap. */
function globMeetsGlob(x: ParsedKey, y: ParsedKey, work: Work): boolean {
  return keysMeet(x, y, work, (i, xs, ys) => {
    const cx = x.segments[i] ?? null;
    const cy = y.segments[i] ?? null;
    if (cx === null && cy === null) return xs === ys;
    if (cy === null) return matches(xs, ys);
    if (cx === null) return matches(ys, xs);
    return compiledOverlap(cx, cy, hostSegments, work);
  });
}

/** The literal keys of `index` a glob key might match: the fewest that share one of its literal segments. */
function literalCandidates(g: ParsedKey, index: RegistryKeyIndex): readonly ParsedKey[] {
  const shape = shapeKey(g.hostParts, g.port);
  let best = index.literalsByShape.get(shape) ?? [];
  g.hostParts.forEach((s, i) => {
    if (!isLiteral(s)) return;
    const list = index.literalsBySegment.get(segmentKey(shape, i, s)) ?? [];
    if (list.length < best.length) best = list;
  });
  return best;
}

/** The glob keys of `x` against every key of `y` that could meet them. */
function globsAgainst(
  x: RegistryKeyIndex,
  y: RegistryKeyIndex,
  flip: boolean,
  work: Work,
): KeyOverlap | null {
  const found = (p: ParsedKey, q: ParsedKey): KeyOverlap =>
    flip ? overlapOf(q, p) : overlapOf(p, q);
  for (const [shape, globs] of x.globs) {
    const otherGlobs = y.globs.get(shape) ?? [];
    for (const g of globs) {
      for (const l of literalCandidates(g, y)) {
        work.spend(1);
        if (globMeetsLiteral(g, l, work)) return found(g, l);
      }
      // Glob against glob once, from the first side.
      if (flip) continue;
      for (const h of otherGlobs) {
        work.spend(1);
        if (globMeetsGlob(g, h, work)) return found(g, h);
      }
    }
  }
  return null;
}

/**
 * A key of `a` and a key of `b` that can both match one image (same port, same number of host
 * segments, every pair of segments can match one segment, one path a prefix of the other), or
 * null. Literal keys meet only keys of the same host and port, found by lookup; only glob keys
 * are compared one by one, with the keys of their shape.
 */
export function firstKeyOverlap(
  a: RegistryKeyIndex,
  b: RegistryKeyIndex,
  work: Work = unbounded(),
): KeyOverlap | null {
  const [small, large, flipped] = a.literals.size <= b.literals.size ? [a, b, false] : [b, a, true];
  for (const [host, xs] of small.literals) {
    work.spend(1);
    const ys = large.literals.get(host);
    if (ys === undefined) continue;
    const pair = prefixPair(xs, ys, work);
    if (pair !== null) return flipped ? { a: pair.b, b: pair.a } : pair;
  }
  return globsAgainst(a, b, false, work) ?? globsAgainst(b, a, true, work);
}

/** Whether two registry keys (as written in Docker configs) can match one image. */
export function registryKeysOverlap(a: string, b: string, work: Work = unbounded()): boolean {
  return firstKeyOverlap(indexRegistryKeys([a], work), indexRegistryKeys([b], work), work) !== null;
}
