import { parseMatchPattern } from "../../provider/core/url-match.ts";

/**
 * Whether a matchImages entry passes the kubelet's check (`url.Parse("https://" + value)`),
 * using the provider's Go url.Parse port so both halves of nodecred agree on what parses.
 * Returns the error text (after the kubelet's "match image is invalid: " prefix) or null.
 */
export function matchImageError(value: string): string | null {
  const r = parseMatchPattern(value);
  if (r.ok) return null;
  // Go's *url.Error prefix, so the text reads like the kubelet's own message.
  return `parse ${JSON.stringify(`https://${value}`)}: ${r.problem.replace(/^match image is invalid: /, "")}`;
}

/** Patterns the kubelet accepts but that can never match an image (worth a warning). */
export function matchImageWarnings(value: string): readonly string[] {
  const r = parseMatchPattern(value);
  return r.ok ? r.warnings : [];
}
