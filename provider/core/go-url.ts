// The parts of Go's net/url.Parse and net.SplitHostPort that decide how the kubelet reads registry
// keys, matchImages patterns and images (pkg/credentialprovider/keyring.go parses each of them as
// url.Parse("https://" + s)). Ported from Go's source so that exactly the same strings succeed or
// fail and yield the same host and path: net/url as of Go 1.24.8+ (bracketed hosts must hold an IPv6
// literal, CVE-2025-47912) with the colon rule of go1.24-era modules (GODEBUG urlstrictcolons=0),
// which is what kubelets built from Kubernetes' go.mod get. Only Host and Path are kept: nothing
// else of the URL takes part in matching.

import { decodeUtf8OrLatin1 } from "./utf8.ts";

export interface GoUrl {
  /** URL.Host: host[:port], percent-decoded, IPv6 literals in brackets. */
  readonly host: string;
  /** URL.Path: percent-decoded; query and fragment removed. */
  readonly path: string;
}

export type GoUrlResult =
  { readonly ok: true; readonly url: GoUrl } | { readonly ok: false; readonly error: string };

const MODE_HOST = 1;
const MODE_ZONE = 2;
const MODE_PATH = 3;
const MODE_USERPASS = 4;
const MODE_FRAGMENT = 5;
type Mode = 1 | 2 | 3 | 4 | 5;

type Unescaped =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly error: string };

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function unhex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return c - 55;
}

function isAlnum(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

// ASCII bytes that url.shouldEscape(c, encodeHost) lets through (encodeZone is the same set).
const HOST_OK = "!\"$&'()*+,-.:;<=>[]_~";

function hostByteNeedsEscape(c: number): boolean {
  return !(isAlnum(c) || HOST_OK.includes(String.fromCharCode(c)));
}

/** url.unescape: validates %-escapes (and, for hosts, the characters) and decodes them. */
function unescape(s: string, mode: Mode): Unescaped {
  const problem = unescapeProblem(s, mode);
  if (problem !== null) return { ok: false, error: problem };
  // Every "%" starts a valid escape now: none, nothing to decode.
  if (s.indexOf("%") < 0) return { ok: true, value: s };
  return { ok: true, value: decodeEscapes(s) };
}

/** Why url.unescape refuses `s` in `mode` (a %-escape, a character a host may not hold), or null. */
function unescapeProblem(s: string, mode: Mode): string | null {
  const inHost = mode === MODE_HOST || mode === MODE_ZONE;
  for (let i = 0; i < s.length;) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */) {
      const problem = escapeProblem(s, i, mode);
      if (problem !== null) return problem;
      i += 3;
    } else {
      if (inHost && c < 0x80 && c !== 43 && hostByteNeedsEscape(c)) {
        return `invalid character ${JSON.stringify(s.charAt(i))} in host name`;
      }
      i++;
    }
  }
  return null;
}

/** The %-escape at `i`: two hex digits, and in a host or zone a byte that may be escaped there. */
function escapeProblem(s: string, i: number, mode: Mode): string | null {
  if (i + 2 >= s.length || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) {
    return `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`;
  }
  const seq = s.slice(i, i + 3);
  // In a host, %-escapes may only encode non-ASCII bytes, except %25 (RFC 6874 zones).
  if (mode === MODE_HOST && unhex(s.charCodeAt(i + 1)) < 8 && seq !== "%25") {
    return `invalid URL escape ${JSON.stringify(seq)}`;
  }
  if (mode === MODE_ZONE) {
    const v = (unhex(s.charCodeAt(i + 1)) << 4) | unhex(s.charCodeAt(i + 2));
    if (seq !== "%25" && v !== 32 && (v >= 0x80 || hostByteNeedsEscape(v))) {
      return `invalid URL escape ${JSON.stringify(seq)}`;
    }
  }
  return null;
}

/** `s` with its (valid) %-escapes decoded: each run of escaped bytes as UTF-8, else Latin-1. */
function decodeEscapes(s: string): string {
  let out = "";
  let bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === 37) {
      bytes.push((unhex(s.charCodeAt(i + 1)) << 4) | unhex(s.charCodeAt(i + 2)));
      i += 2;
      continue;
    }
    if (bytes.length > 0) {
      out += decodeUtf8OrLatin1(bytes);
      bytes = [];
    }
    out += s.charAt(i);
  }
  if (bytes.length > 0) out += decodeUtf8OrLatin1(bytes);
  return out;
}

function validOptionalPort(port: string): boolean {
  if (port === "") return true;
  if (port.charCodeAt(0) !== 58 /* : */) return false;
  for (let i = 1; i < port.length; i++) {
    const c = port.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** netip.ParseAddr(s) succeeds and is not IPv4: the test Go applies inside brackets. */
export function isIPv6Literal(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */ || c === 37 /* % */) return false; // IPv4 (rejected) or no address
    if (c === 58 /* : */) return parseIPv6(s);
  }
  return false;
}

function parseIPv4Fields(s: string): boolean {
  let val = 0;
  let pos = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && val === 0) return false; // leading zero
      val = val * 10 + (c - 48);
      digits++;
      if (val > 255) return false;
    } else if (c === 46) {
      if (i === 0 || i === s.length - 1 || s.charCodeAt(i - 1) === 46) return false;
      if (pos === 3) return false;
      pos++;
      val = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return pos >= 3;
}

function parseIPv6(input: string): boolean {
  const zone = input.indexOf("%");
  if (zone === -1) return parseIPv6Address(input);
  if (zone === input.length - 1) return false;
  return parseIPv6Address(input.slice(0, zone));
}

/** The address part (no zone): up to eight groups, one "::" at most, an IPv4 tail in the last two. */
function parseIPv6Address(address: string): boolean {
  let s = address;
  let ellipsis = -1;
  if (s.length >= 2 && s.charCodeAt(0) === 58 && s.charCodeAt(1) === 58) {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return true;
  }
  let i = 0;
  while (i < 16) {
    const off = hexGroupLength(s);
    if (off <= 0) return false;
    if (off < s.length && s.charCodeAt(off) === 46) {
      if (!ipv4TailFits(s, i, ellipsis)) return false;
      s = "";
      i += 4;
      break;
    }
    i += 2;
    s = s.slice(off);
    if (s.length === 0) break;
    if (s.charCodeAt(0) !== 58) return false;
    if (s.length === 1) return false;
    s = s.slice(1);
    if (s.charCodeAt(0) === 58) {
      if (ellipsis >= 0) return false;
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return false;
  if (i < 16) return ellipsis >= 0;
  return ellipsis < 0;
}

/** How many hex digits start `s` (a group); -1 past four digits or 0xffff. */
function hexGroupLength(s: string): number {
  let off = 0;
  let acc = 0;
  for (; off < s.length; off++) {
    const c = s.charCodeAt(off);
    if (!isHex(c)) break;
    acc = acc * 16 + unhex(c);
    if (off > 3 || acc > 0xffff) return -1;
  }
  return off;
}

/** An IPv4 tail (`s`) at byte `i`: only as the last 4 bytes (or after "::"), and a valid one. */
function ipv4TailFits(s: string, i: number, ellipsis: number): boolean {
  if (ellipsis < 0 && i !== 12) return false;
  if (i + 4 > 16) return false;
  return parseIPv4Fields(s);
}

type HostResult =
  { readonly ok: true; readonly host: string } | { readonly ok: false; readonly error: string };

function parseHost(host: string): HostResult {
  const open = host.lastIndexOf("[");
  if (open > 0) return { ok: false, error: "invalid IP-literal" };
  if (open === 0) {
    const close = host.lastIndexOf("]");
    if (close < 0) return { ok: false, error: "missing ']' in host" };
    const colonPort = host.slice(close + 1);
    if (!validOptionalPort(colonPort)) {
      return { ok: false, error: `invalid port ${JSON.stringify(colonPort)} after host` };
    }
    const hostname = host.slice(1, close);
    const zoneIdx = hostname.indexOf("%25");
    let unescaped: string;
    if (zoneIdx >= 0) {
      const a = unescape(hostname.slice(0, zoneIdx), MODE_HOST);
      if (!a.ok) return a;
      const b = unescape(hostname.slice(zoneIdx), MODE_ZONE);
      if (!b.ok) return b;
      unescaped = a.value + b.value;
    } else {
      const a = unescape(hostname, MODE_HOST);
      if (!a.ok) return a;
      unescaped = a.value;
    }
    if (!isIPv6Literal(unescaped)) return { ok: false, error: "invalid host: not an IPv6 address" };
    return { ok: true, host: `[${unescaped}]${colonPort}` };
  }
  const colon = host.lastIndexOf(":");
  if (colon !== -1) {
    const colonPort = host.slice(colon);
    if (!validOptionalPort(colonPort)) {
      return { ok: false, error: `invalid port ${JSON.stringify(colonPort)} after host` };
    }
  }
  const u = unescape(host, MODE_HOST);
  return u.ok ? { ok: true, host: u.value } : u;
}

function validUserinfo(s: string): boolean {
  const allowed = "-._:~!$&'()*+,;=%@";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && (isAlnum(c) || allowed.includes(ch))) continue;
    return false;
  }
  return true;
}

function parseAuthority(authority: string): HostResult {
  const at = authority.lastIndexOf("@");
  const host = parseHost(at < 0 ? authority : authority.slice(at + 1));
  if (!host.ok || at < 0) return host;
  const userinfo = authority.slice(0, at);
  if (!validUserinfo(userinfo)) return { ok: false, error: "net/url: invalid userinfo" };
  const colon = userinfo.indexOf(":");
  const parts = colon < 0 ? [userinfo] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
  for (const part of parts) {
    const u = unescape(part, MODE_USERPASS);
    if (!u.ok) return u;
  }
  return host;
}

function containsCtl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 0x7f) return true;
  }
  return false;
}

/** url.Parse(raw), reduced to Host and Path; `error` is Go's reason (without the URL). */
export function parseGoUrl(raw: string): GoUrlResult {
  const hash = raw.indexOf("#");
  const u = hash < 0 ? raw : raw.slice(0, hash);
  const frag = hash < 0 ? "" : raw.slice(hash + 1);
  const parsed = parseNoFragment(u);
  if (!parsed.ok || frag === "") return parsed;
  const f = unescape(frag, MODE_FRAGMENT);
  return f.ok ? parsed : f;
}

function parseNoFragment(raw: string): GoUrlResult {
  if (containsCtl(raw)) return { ok: false, error: "net/url: invalid control character in URL" };
  const split = splitScheme(raw);
  if (!split.ok) return split;
  const { scheme } = split;
  let rest = split.rest;
  const q = rest.indexOf("?");
  if (q >= 0) rest = rest.slice(0, q); // the query is not validated by url.Parse
  if (!rest.startsWith("/")) {
    if (scheme !== "") return { ok: true, url: { host: "", path: "" } }; // opaque URL
    const firstSegment = rest.split("/", 1)[0] ?? "";
    if (firstSegment.includes(":")) {
      return { ok: false, error: "first path segment in URL cannot contain colon" };
    }
  }
  let host = "";
  if ((scheme !== "" || !rest.startsWith("///")) && rest.startsWith("//")) {
    let authority = rest.slice(2);
    rest = "";
    const slash = authority.indexOf("/");
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const h = parseAuthority(authority);
    if (!h.ok) return h;
    host = h.host;
  }
  const path = unescape(rest, MODE_PATH);
  if (!path.ok) return path;
  return { ok: true, url: { host, path: path.value } };
}

type SchemeSplit =
  | { readonly ok: true; readonly scheme: string; readonly rest: string }
  | { readonly ok: false; readonly error: string };

/** url.getScheme: letters, then letters, digits, "+", "-", "." up to a ":"; else no scheme. */
function splitScheme(raw: string): SchemeSplit {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) continue;
    if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) {
      if (i === 0) break;
      continue;
    }
    if (c === 58) {
      if (i === 0) return { ok: false, error: "missing protocol scheme" };
      return { ok: true, scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    }
    break;
  }
  return { ok: true, scheme: "", rest: raw };
}

export interface HostPort {
  readonly host: string;
  readonly port: string;
}

/** net.SplitHostPort; undefined where Go returns an error. */
export function splitHostPort(hostport: string): HostPort | undefined {
  const i = hostport.lastIndexOf(":");
  if (i < 0) return undefined;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport.startsWith("[")) {
    const end = hostport.indexOf("]");
    if (end < 0) return undefined;
    if (end + 1 !== i) return undefined; // missing port, or too many colons
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(":")) return undefined;
  }
  if (hostport.indexOf("[", j) >= 0) return undefined;
  if (hostport.indexOf("]", k) >= 0) return undefined;
  return { host, port: hostport.slice(i + 1) };
}
