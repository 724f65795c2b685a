import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
} from "@kubernetes/client-node";
import type { LeaseWrite } from "../core/report/node-report.ts";
import { openWatch, type ApiConnection } from "./watch-request.ts";

/**
 * The installer's only door to the API server (with fleet-read.ts, the repo's only
 * `@kubernetes/client-node` import in product code). It speaks in plain values: objects come back
 * as the JSON the API server sent, so the pure core parses exactly what a `kubectl get -o json`
 * would show. Watches go through watch-request.ts, with this kubeconfig's credentials.
 */

export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

export type WatchedKind = "secrets" | "configmaps";

export interface WatchHandle {
  stop(): void;
}

/** An object as the API server sent it (JSON), or null: it does not exist. */
export type ApiObject = Record<string, unknown> | null;

/** Which version of an object this is: what an Event about it names. */
export interface ObjectVersion {
  readonly resourceVersion: string;
  readonly uid: string;
}

/** An object's resourceVersion and uid ("" when absent). */
export function versionOf(obj: Record<string, unknown>): ObjectVersion {
  const metadata = obj["metadata"] as { resourceVersion?: string; uid?: string } | undefined;
  return { resourceVersion: metadata?.resourceVersion ?? "", uid: metadata?.uid ?? "" };
}

export interface WatchCallbacks {
  /**
   * The object as it is now: first from the list the watch starts from, then from every event
   * (added and modified: the object; deleted: null; bookmarks are not reported).
   */
  readonly onObject: (obj: ApiObject, from: "list" | "watch") => void;
  /** The watch ended, with an error or at the server's timeout; the caller restarts it. */
  readonly onEnd: (err: unknown) => void;
}

/** How a kept collection (every object of a kind in one namespace) hears about its objects. */
export interface CollectionCallbacks {
  /**
   * Every object of the collection, from the list the watch starts from: what the caller knew
   * before is replaced wholesale (an object deleted while no watch was open is simply not there).
   */
  readonly onList: (objects: readonly Record<string, unknown>[]) => void;
  /** One watch event: the object as it is now (added, modified), or null (deleted). */
  readonly onChange: (name: string, obj: Record<string, unknown> | null) => void;
  /** The watch ended, with an error or at the server's timeout; the caller restarts it. */
  readonly onEnd: (err: unknown) => void;
}

export interface EventSpec {
  readonly regarding: {
    kind: "Pod" | "Node" | "ConfigMap" | "Secret";
    name: string;
    namespace?: string;
    uid?: string;
  };
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
  /**
   * A fixed Event name: the first to create it reports, everyone else finds it there (409) and
   * is done — one Event per cluster for what every node sees alike, not one per node.
   */
  readonly name?: string;
}

export interface KubeApi {
  /** The object as JSON, or null when it does not exist. */
  get(kind: WatchedKind, ref: ObjectRef): Promise<ApiObject>;
  /** List (field-selected to the one object) then watch from the list's resourceVersion. */
  watch(kind: WatchedKind, ref: ObjectRef, callbacks: WatchCallbacks): Promise<WatchHandle>;
  /** List every object of `kind` in `namespace` (paged) then watch them all from there. */
  watchCollection(
    kind: WatchedKind,
    namespace: string,
    callbacks: CollectionCallbacks,
  ): Promise<WatchHandle>;
  /** One annotation of the DaemonSet's pod template (undefined when absent). */
  podTemplateAnnotation(ref: ObjectRef, key: string): Promise<string | undefined>;
  /** Sets one annotation on the DaemonSet's pod template (a merge patch; same value = no-op). */
  annotatePodTemplate(ref: ObjectRef, key: string, value: string): Promise<void>;
  /** Records an Event; with `spec.name`, an Event of that name already there counts as done. */
  event(namespace: string, component: string, spec: EventSpec): Promise<void>;
  /**
   * Writes one Lease (the node report, core/report/node-report.ts): a merge patch; when the Lease does
   * not exist (404), `create`; when someone created it meanwhile (409), the patch again.
   */
  writeLease(ref: ObjectRef, write: LeaseWrite): Promise<void>;
}

/** In-cluster credentials when `kubeconfig` is null (the pod's ServiceAccount). */
export function loadKubeConfig(kubeconfig: string | null): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig === null) kc.loadFromCluster();
  else kc.loadFromFile(kubeconfig);
  return kc;
}

// The server is asked to close a watch after `watchSeconds` to twice that (with bookmarks in
// between); a quiet Secret sends no byte meanwhile, so the client's idle limit must be longer than
// that, or every idle watch would end early as an error. The random part (client-go's reflector
// does the same) keeps a fleet whose watches opened together (an API server restart, a DaemonSet
// rollout) from relisting together every period.
export const watchSeconds = 240;
/** How long a watch may go without a byte before it is given up (kubeApi's default). */
export const watchIdleMs = (2 * watchSeconds + 30) * 1000;
// Objects per list page: the API server bounds a Secret to 1 MiB, so a page of a namespace of
// large Secrets stays within tens of MiB.
const listPageSize = 16;

export interface KubeApiOptions {
  /** Overrides `watchIdleMs` (tests: a short one, to see a quiet watch given up). */
  readonly watchIdleMs?: number;
}

export function kubeApi(kc: KubeConfig, options: KubeApiOptions = {}): KubeApi {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const watchFrom = (from: WatchStart, onEvent: EventSink, onEnd: EndSink): Promise<WatchHandle> =>
    watchEvents(apiConnection(kc), options.watchIdleMs ?? watchIdleMs, from, onEvent, onEnd);

  return {
    async get(kind, ref) {
      try {
        const obj =
          kind === "secrets"
            ? await core.readNamespacedSecret(ref)
            : await core.readNamespacedConfigMap(ref);
        return toPlain(obj);
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return null;
        throw err;
      }
    },

    async watch(kind, ref, callbacks) {
      const fieldSelector = `metadata.name=${ref.name}`;
      const listed = await list(core, kind, ref.namespace, fieldSelector);
      // The listed state first, then the watch's events from that resourceVersion on.
      callbacks.onObject(listed.objects[0] ?? null, "list");
      return watchFrom(
        { kind, namespace: ref.namespace, fieldSelector, resourceVersion: listed.resourceVersion },
        (deleted, obj) => {
          callbacks.onObject(deleted ? null : obj, "watch");
        },
        callbacks.onEnd,
      );
    },

    async watchCollection(kind, namespace, callbacks) {
      const listed = await list(core, kind, namespace, undefined);
      callbacks.onList(listed.objects);
      return watchFrom(
        { kind, namespace, fieldSelector: undefined, resourceVersion: listed.resourceVersion },
        (deleted, obj) => {
          const name = (obj["metadata"] as { name?: unknown } | undefined)?.name;
          if (typeof name !== "string") return;
          callbacks.onChange(name, deleted ? null : obj);
        },
        callbacks.onEnd,
      );
    },

    async podTemplateAnnotation(ref, key) {
      const ds = await apps.readNamespacedDaemonSet(ref);
      return ds.spec?.template.metadata?.annotations?.[key];
    },

    async annotatePodTemplate(ref, key, value) {
      await apps.patchNamespacedDaemonSet(
        {
          ...ref,
          body: { spec: { template: { metadata: { annotations: { [key]: value } } } } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    },

    async event(namespace, component, spec) {
      const regardingNamespace =
        spec.regarding.kind === "Node" ? "default" : (spec.regarding.namespace ?? namespace);
      try {
        await core.createNamespacedEvent({
          namespace: regardingNamespace,
          body: eventBody(regardingNamespace, component, spec, new Date()),
        });
      } catch (err) {
        if (spec.name !== undefined && err instanceof ApiException && err.code === 409) return;
        throw err;
      }
    },

    writeLease: (ref, write) => writeLease(coordination, ref, write),
  };
}

const toPlain = (obj: unknown): Record<string, unknown> =>
  JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;

/**
 * One consistent list (field-selected to one name, or the whole namespace), page by page: a
 * namespace of large Secrets never arrives as one response of hundreds of MiB. The pages come
 * from one snapshot; the list's resourceVersion is where the watch starts. A continue token
 * that expired (410) fails the list, and the caller lists again after its backoff.
 */
async function list(
  core: CoreV1Api,
  kind: WatchedKind,
  namespace: string,
  fieldSelector: string | undefined,
): Promise<{ objects: Record<string, unknown>[]; resourceVersion: string }> {
  const objects: Record<string, unknown>[] = [];
  let resourceVersion = "";
  let next: string | undefined;
  do {
    const params = {
      namespace,
      limit: listPageSize,
      ...(fieldSelector === undefined ? {} : { fieldSelector }),
      ...(next === undefined ? {} : { _continue: next }),
    };
    const page =
      kind === "secrets"
        ? await core.listNamespacedSecret(params)
        : await core.listNamespacedConfigMap(params);
    // Items of a list carry no kind; the caller knows what it listed.
    for (const item of page.items) objects.push(toPlain(item));
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    next = page.metadata?._continue;
  } while (next !== undefined && next !== "");
  return { objects, resourceVersion };
}

/** Where a watch starts: what it selects, and the list's resourceVersion. */
interface WatchStart {
  readonly kind: WatchedKind;
  readonly namespace: string;
  readonly fieldSelector: string | undefined;
  readonly resourceVersion: string;
}

type EventSink = (deleted: boolean, obj: Record<string, unknown>) => void;
type EndSink = (err: unknown) => void;

/** The kubeconfig's server and credentials, for watch-request.ts. */
export function apiConnection(kc: KubeConfig): ApiConnection {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error("No currently active cluster");
  return { server: cluster.server, authorize: (options) => kc.applyToHTTPSOptions(options) };
}

/** Watch events from `resourceVersion` on; ERROR ends the watch (e.g. 410 Gone: relist). */
async function watchEvents(
  connection: ApiConnection,
  idleMs: number,
  from: WatchStart,
  onEvent: EventSink,
  onEnd: EndSink,
): Promise<WatchHandle> {
  const stream = await openWatch(connection, {
    path: `/api/v1/namespaces/${from.namespace}/${from.kind}`,
    query: {
      ...(from.fieldSelector === undefined ? {} : { fieldSelector: from.fieldSelector }),
      resourceVersion: from.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.round(watchSeconds * (1 + Math.random())),
    },
    idleMs,
    onEvent: (type, obj) => {
      if (type === "BOOKMARK") return;
      if (type === "ERROR") {
        const status = obj["code"];
        onEnd(new WatchError(typeof status === "number" ? status : 0));
        return;
      }
      onEvent(type === "DELETED", toPlain(obj));
    },
    onEnd,
  });
  return {
    stop: () => {
      stream.abort();
    },
  };
}

/** The Event about `spec.regarding`, as `event()` records it. */
function eventBody(
  regardingNamespace: string,
  component: string,
  spec: EventSpec,
  now: Date,
): CoreV1Event {
  return {
    metadata: {
      ...(spec.name === undefined
        ? { generateName: `nodecred-${spec.reason.toLowerCase()}-` }
        : { name: spec.name }),
      namespace: regardingNamespace,
    },
    involvedObject: {
      kind: spec.regarding.kind,
      name: spec.regarding.name,
      apiVersion: "v1",
      ...(spec.regarding.kind === "Node" ? {} : { namespace: regardingNamespace }),
      ...(spec.regarding.uid === undefined ? {} : { uid: spec.regarding.uid }),
    },
    reason: spec.reason,
    message: spec.message,
    type: spec.type,
    source: { component },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

/** A merge patch; a missing Lease (404) is created, one created meanwhile (409) patched again. */
async function writeLease(
  coordination: CoordinationV1Api,
  ref: ObjectRef,
  write: LeaseWrite,
): Promise<void> {
  const patch = (): Promise<unknown> =>
    coordination.patchNamespacedLease(
      { ...ref, body: write.patch },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  const status = (err: unknown): number | null => (err instanceof ApiException ? err.code : null);
  try {
    await patch();
    return;
  } catch (err) {
    if (status(err) !== 404) throw err;
  }
  try {
    await coordination.createNamespacedLease({
      namespace: ref.namespace,
      body: write.create,
    });
  } catch (err) {
    if (status(err) !== 409) throw err;
    await patch();
  }
}

/** A watch that the server ended with an ERROR event (status code, e.g. 410 Gone). */
export class WatchError extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`watch ended by the API server (status ${code})`);
    this.name = "WatchError";
    this.code = code;
  }
}
