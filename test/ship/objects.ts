// Kubernetes objects as manifests/ (through kustomize) and charts/nodecred render them, for the
// tests that read or send them.
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { kubectl, repoRoot } from "../sync/cluster.ts";

/** A Kubernetes object as rendered (only the fields the tests name are typed). */
export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

export function parseObjects(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

/** `kubectl kustomize manifests/`: what `kubectl apply -k manifests` sends. */
export async function kustomizedManifests(): Promise<Obj[]> {
  return parseObjects(await kubectl(["kustomize", join(repoRoot, "manifests")]));
}

export function keyOf(o: Obj): string {
  return `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

export function find(objs: readonly Obj[], kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) throw new Error(`no ${kind}/${name} in the render`);
  return o;
}

/**
 * The render's DaemonSet with a selector its pod template's labels do not match, as JSON: what a
 * server-side dry run must refuse (so a dry run that accepts the render is a real check).
 */
export function withForeignSelector(objs: readonly Obj[]): string {
  const ds = find(objs, "DaemonSet", "nodecred");
  return JSON.stringify({
    ...ds,
    spec: { ...(ds["spec"] as object), selector: { matchLabels: { other: "x" } } },
  });
}
