// Go's path/filepath.Match on Unix, which the kubelet applies to each dot-separated host segment:
// `*` (never across "/"), `?`, `[...]` classes with ranges and `^` negation, backslash escapes. A
// malformed pattern is an error in Go; the kubelet treats that as "no match".
//
// Ported byte for byte, as Go reads both strings: as UTF-8 bytes. Literals compare bytes, `?` and
// classes decode one rune, and a `*` retries the rest of the name at every byte offset, so a chunk
// may start inside a multi-byte character, where Go decodes U+FFFD of width 1 ("*??" matches "€").
//
// Cost: indices over the two byte strings, nothing copied or allocated per step. Whether a chunk is
// malformed does not depend on the name, so each chunk's syntax is checked once and a match attempt
// stops at its first mismatch (Go keeps scanning the chunk to report a bad pattern: same answer).
// A `*` chunk retried at every offset costs at most len(name) x len(chunk), Go's own worst case;
// nothing costs more. `globWork` counts the bytes examined, so tests can hold the matcher to that.

import { utf8ByteString } from "./utf8.ts";

export type GlobResult = "match" | "no-match" | "bad-pattern";

const STAR = 42;
const QUESTION = 63;
const LBRACKET = 91;
const RBRACKET = 93;
const BACKSLASH = 92;
const CARET = 94;
const DASH = 45;
const SEPARATOR = 47; // "/"
const RUNE_ERROR = 0xfffd;
const FAIL = -1;

// Second results of the helpers below, kept in module variables so that no step allocates.
let runeSize = 0;
let escEnd = 0;
let classMatched = false;

let work = 0;

/** Bytes of patterns and names examined so far (a running total, for tests of the bounds). */
export function globWork(): number {
  return work;
}

/** filepath.Match(pattern, name). */
export function goFilepathMatch(pattern: string, name: string): GlobResult {
  // An ASCII pattern without * ? [ \ is one literal chunk: it matches exactly its own bytes.
  if (isAsciiLiteral(pattern)) return pattern === name ? "match" : "no-match";
  return matchBytes(utf8ByteString(pattern), utf8ByteString(name));
}

function isAsciiLiteral(p: string): boolean {
  work += p.length;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c >= 0x80 || c === STAR || c === QUESTION || c === LBRACKET || c === BACKSLASH)
      return false;
  }
  return true;
}

/** False when some chunk of the pattern is malformed, so that filepath.Match can never succeed. */
export function isWellFormedGlob(pattern: string): boolean {
  const p = utf8ByteString(pattern);
  let i = 0;
  while (i < p.length) {
    while (i < p.length && p.charCodeAt(i) === STAR) i++;
    const end = chunkEnd(p, i);
    if (!chunkIsWellFormed(p, i, end)) return false;
    i = end;
  }
  return true;
}

/** Match over UTF-8 byte strings (one char code 0..255 per byte). */
function matchBytes(p: string, s: string): GlobResult {
  let pi = 0;
  let ni = 0;
  chunks: while (pi < p.length) {
    let star = false;
    while (pi < p.length && p.charCodeAt(pi) === STAR) {
      pi++;
      star = true;
    }
    const cs = pi;
    pi = chunkEnd(p, cs);
    if (star && cs === pi) {
      // A trailing * matches the rest of the name unless it holds a separator.
      work += s.length - ni;
      return s.indexOf("/", ni) < 0 ? "match" : "no-match";
    }
    if (!chunkIsWellFormed(p, cs, pi)) return "bad-pattern";
    const last = pi === p.length;
    // The last chunk must use up the name; any other may leave a rest for the next.
    const t = matchChunk(p, cs, pi, s, ni);
    if (t !== FAIL && (t === s.length || !last)) {
      ni = t;
      continue;
    }
    if (star) {
      // Retry after skipping i+1 bytes; a * cannot skip a separator.
      for (let i = ni; i < s.length && s.charCodeAt(i) !== SEPARATOR; i++) {
        const u = matchChunk(p, cs, pi, s, i + 1);
        if (u === FAIL || (last && u !== s.length)) continue;
        ni = u;
        continue chunks;
      }
    }
    return "no-match";
  }
  return ni === s.length ? "match" : "no-match";
}

/** scanChunk: where the chunk starting at `start` ends (at the next * outside a class, or the end). */
function chunkEnd(p: string, start: number): number {
  let inRange = false;
  for (let i = start; i < p.length; i++) {
    work++;
    const c = p.charCodeAt(i);
    if (c === BACKSLASH) {
      if (i + 1 < p.length) i++;
    } else if (c === LBRACKET) {
      inRange = true;
    } else if (c === RBRACKET) {
      inRange = false;
    } else if (c === STAR && !inRange) {
      return i;
    }
  }
  return p.length;
}

/** matchChunk's syntax errors: a bad class or a trailing backslash. */
function chunkIsWellFormed(p: string, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    work++;
    const c = p.charCodeAt(i);
    if (c === LBRACKET) {
      i = scanClass(p, i + 1, end, -1);
      if (i === FAIL) return false;
    } else if (c === BACKSLASH) {
      if (i + 1 === end) return false;
      i += 2;
    } else {
      i++;
    }
  }
  return true;
}

/**
 * matchChunk on a well-formed chunk p[start, end) against s from `at`: the index in s after the
 * chunk, or FAIL.
 */
function matchChunk(p: string, start: number, end: number, s: string, at: number): number {
  let i = start;
  let j = at;
  while (i < end) {
    work++;
    if (j === s.length) return FAIL;
    const c = p.charCodeAt(i);
    if (c === LBRACKET) {
      const r = decodeRune(s, j, s.length);
      j += runeSize;
      i = scanClass(p, i + 1, end, r);
      if (!classMatched) return FAIL;
    } else if (c === QUESTION) {
      if (s.charCodeAt(j) === SEPARATOR) return FAIL;
      decodeRune(s, j, s.length);
      j += runeSize;
      i++;
    } else {
      if (c === BACKSLASH) i++;
      if (p.charCodeAt(i) !== s.charCodeAt(j)) return FAIL;
      i++;
      j++;
    }
  }
  return j;
}

/**
 * A class body from `start` (just after "["): the index after its "]", or FAIL when malformed.
 * Sets classMatched to whether rune r is in the class (r = -1: no rune, only the syntax matters).
 */
function scanClass(p: string, start: number, end: number, r: number): number {
  let i = start;
  let negated = false;
  if (i < end && p.charCodeAt(i) === CARET) {
    negated = true;
    i++;
  }
  let match = false;
  for (let nrange = 0; ; nrange++) {
    work++;
    if (i < end && p.charCodeAt(i) === RBRACKET && nrange > 0) {
      classMatched = match !== negated;
      return i + 1;
    }
    const lo = getEsc(p, i, end);
    if (lo === FAIL) return FAIL;
    i = escEnd;
    let hi = lo;
    if (p.charCodeAt(i) === DASH) {
      hi = getEsc(p, i + 1, end);
      if (hi === FAIL) return FAIL;
      i = escEnd;
    }
    match = match || (lo <= r && r <= hi);
  }
}

/** getEsc: one possibly escaped rune of a class, or FAIL; escEnd is set to the index after it. */
function getEsc(p: string, start: number, end: number): number {
  let i = start;
  if (i >= end) return FAIL;
  const c = p.charCodeAt(i);
  if (c === DASH || c === RBRACKET) return FAIL;
  if (c === BACKSLASH) {
    i++;
    if (i === end) return FAIL;
  }
  const r = decodeRune(p, i, end);
  if (r === RUNE_ERROR && runeSize === 1) return FAIL;
  i += runeSize;
  // A class must be closed: a rune may not end the chunk.
  if (i >= end) return FAIL;
  escEnd = i;
  return r;
}

/** utf8.DecodeRuneInString(b[i:end]) for i < end: the rune, with runeSize set to its width. */
function decodeRune(b: string, i: number, end: number): number {
  runeSize = 1;
  const c0 = b.charCodeAt(i);
  if (c0 < 0x80) return c0;
  let size: number;
  let cp: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    size = 2;
    cp = c0 & 0x1f;
  } else if (c0 >= 0xe0 && c0 <= 0xef) {
    size = 3;
    cp = c0 & 0x0f;
    if (c0 === 0xe0)
      lo = 0xa0; // overlong
    else if (c0 === 0xed) hi = 0x9f; // surrogates
  } else if (c0 >= 0xf0 && c0 <= 0xf4) {
    size = 4;
    cp = c0 & 0x07;
    if (c0 === 0xf0)
      lo = 0x90; // overlong
    else if (c0 === 0xf4) hi = 0x8f; // past U+10FFFF
  } else {
    return RUNE_ERROR;
  }
  if (i + size > end) return RUNE_ERROR;
  for (let k = 1; k < size; k++) {
    const c = b.charCodeAt(i + k);
    if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return RUNE_ERROR;
    cp = (cp << 6) | (c & 0x3f);
  }
  runeSize = size;
  return cp;
}
