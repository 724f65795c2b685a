import { goFilepathMatch } from "../../../provider/core/glob.ts";
import type { SchemelessUrl } from "../../../provider/core/url-match.ts";
import { parsePattern } from "../settings/match-image.ts";

/**
 * The envelope: the fixed patterns the kubelet registers for nodecred in `matching: live`, so
 * that the kubelet execs our provider for every image the live matchImages could name, and the
 * provider decides from the node's policy file. The kubelet's matching (URLsMatchStr) compares
 * ports as strings and dot-segment counts exactly and matches each segment with filepath.Match,
 * where `*` matches any segment (a host segment never holds "/"). So an image matched by a live
 * pattern with k host segments and port P is matched by the envelope pattern `*.…*` (k stars) `:P`
 * whenever P is one of the envelope's ports and k is at most its segment count: one ladder of
 * `*`, `*.*`, … per port. A glob in a port is a config error that stops the kubelet, so ports are
 * only ever the literal ones the patterns use (which the kubelet's URL parser allows: digits).
 *
 * The envelope is a pure function of matchImages: it changes (and the kubelet must restart) only
 * when a pattern brings a new port, or more host segments than it covers, or a port or a long host
 * goes away. Every other edit is live.
 */

/** The longest registry hosts in use have 7 dot-segments (ECR in China: `…dkr.ecr.cn-north-1.amazonaws.com.cn`). */
export const minEnvelopeSegments = 7;

export interface Envelope {
  /** Ports the ladders are registered for, "" (no port) first, then in numeric order. */
  readonly ports: readonly string[];
  /** Host segment counts covered: 1 to `segments`. */
  readonly segments: number;
}

function comparePorts(a: string, b: string): number {
  // Ports are digit strings (url.Parse refuses others); shorter is smaller, then by digits.
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** The envelope that covers every pattern. Patterns that do not parse are skipped (validated elsewhere). */
export function envelopeFor(matchImages: readonly string[]): Envelope {
  const ports = new Set<string>([""]);
  let segments = minEnvelopeSegments;
  for (const pattern of matchImages) {
    const parsed = parsePattern(pattern);
    if (!parsed.ok) continue;
    ports.add(parsed.url.port);
    segments = Math.max(segments, parsed.url.hostParts.length);
  }
  return { ports: [...ports].sort(comparePorts), segments };
}

/** How many patterns envelopePatterns registers: one ladder per port. */
export function envelopeSize(envelope: Envelope): number {
  return envelope.ports.length * envelope.segments;
}

/** The matchImages the kubelet registers for an envelope: per port, `*` to `*.*.…` (segments stars). */
export function envelopePatterns(envelope: Envelope): string[] {
  const out: string[] = [];
  for (const port of envelope.ports) {
    for (let k = 1; k <= envelope.segments; k++) {
      const host = Array.from({ length: k }, () => "*").join(".");
      out.push(port === "" ? host : `${host}:${port}`);
    }
  }
  return out;
}

const globChars = ["*", "?", "[", "\\"];

function segmentCovers(outer: string, inner: string): boolean {
  if (outer === inner || outer === "*") return true;
  // A literal segment is covered by any glob that matches it; a glob only by "*" or itself.
  if (globChars.some((c) => inner.includes(c))) return false;
  return goFilepathMatch(outer, inner) === "match";
}

function urlCovers(outer: SchemelessUrl, inner: SchemelessUrl): boolean {
  return (
    outer.port === inner.port &&
    outer.hostParts.length === inner.hostParts.length &&
    inner.path.startsWith(outer.path) &&
    outer.hostParts.every((part, i) => segmentCovers(part, inner.hostParts[i] ?? ""))
  );
}

/**
 * Whether every image `inner` matches is also matched by some pattern of `registered`, as far as
 * can be shown segment by segment (a conservative test: `*` covers any segment, a glob covers the
 * literal segments it matches). Used to refuse a template whose provider entry registers less than
 * matchImages, which would silently never ask nodecred about some of them.
 */
export function isCovered(inner: string, registered: readonly string[]): boolean {
  return coveredBy(registered)(inner);
}

/**
 * isCovered against one registered list, for many patterns: the list is parsed once and indexed
 * by port and segment count (the only entries that can cover a pattern), so checking n patterns
 * against m registered ones costs about n + m, not n × m URL parses.
 */
export function coveredBy(registered: readonly string[]): (inner: string) => boolean {
  const exact = new Set(registered);
  const byShape = new Map<string, SchemelessUrl[]>();
  for (const r of registered) {
    const o = parsePattern(r);
    if (!o.ok) continue;
    const key = `${o.url.port}/${String(o.url.hostParts.length)}`;
    const list = byShape.get(key);
    if (list === undefined) byShape.set(key, [o.url]);
    else list.push(o.url);
  }
  return (inner) => {
    const i = parsePattern(inner);
    if (!i.ok) return true; // an invalid pattern is reported by its own check
    if (exact.has(inner)) return true;
    const candidates = byShape.get(`${i.url.port}/${String(i.url.hostParts.length)}`) ?? [];
    return candidates.some((o) => urlCovers(o, i.url));
  };
}
