/**
 * Objects as the API server sends them: plain JSON (cluster/kube-api.ts hands them over that way),
 * so the core reads exactly what `kubectl get -o json` shows.
 */

/** An object as the API server sent it (JSON), or null: it does not exist. */
export type ApiObject = Record<string, unknown> | null;

/** Which version of an object this is: what an Event about it names. */
export interface ObjectVersion {
  readonly resourceVersion: string;
  readonly uid: string;
}

/** An object's resourceVersion and uid ("" when absent): the one reader of both. */
export function versionOf(obj: Readonly<Record<string, unknown>>): ObjectVersion {
  const metadata = obj["metadata"] as { resourceVersion?: unknown; uid?: unknown } | undefined;
  const text = (v: unknown): string => (typeof v === "string" ? v : "");
  return { resourceVersion: text(metadata?.resourceVersion), uid: text(metadata?.uid) };
}
