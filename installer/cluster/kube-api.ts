import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";

/**
 * The installer's only door to the API server (the repo's only `@kubernetes/client-node` import
 * in product code). It speaks in plain values: objects come back as the JSON the API server sent,
 * so the pure core parses exactly what a `kubectl get -o json` would show.
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
  /** One annotation of the DaemonSet's pod template (undefined when absent). */
  podTemplateAnnotation(ref: ObjectRef, key: string): Promise<string | undefined>;
  /** Sets one annotation on the DaemonSet's pod template (a merge patch; same value = no-op). */
  annotatePodTemplate(ref: ObjectRef, key: string, value: string): Promise<void>;
  /** Records an Event; with `spec.name`, an Event of that name already there counts as done. */
  event(namespace: string, component: string, spec: EventSpec): Promise<void>;
}

/** In-cluster credentials when `kubeconfig` is null (the pod's ServiceAccount). */
export function loadKubeConfig(kubeconfig: string | null): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig === null) kc.loadFromCluster();
  else kc.loadFromFile(kubeconfig);
  return kc;
}

// The client's watcher aborts a connection after 30 s without a byte; a quiet Secret sends none,
// so every watch would end twice a minute. The server is asked to close at `watchSeconds` instead
// (with bookmarks in between), and the client's idle limit is raised above that.
const watchSeconds = 240;
const clientIdleMs = (watchSeconds + 30) * 1000;

export function kubeApi(kc: KubeConfig): KubeApi {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const toPlain = (obj: unknown): Record<string, unknown> =>
    JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;

  const list = async (
    kind: WatchedKind,
    ref: ObjectRef,
  ): Promise<{ object: ApiObject; resourceVersion: string }> => {
    const params = { namespace: ref.namespace, fieldSelector: `metadata.name=${ref.name}` };
    const result =
      kind === "secrets"
        ? await core.listNamespacedSecret(params)
        : await core.listNamespacedConfigMap(params);
    const item = result.items[0];
    return {
      // Items of a list carry no kind; the caller knows what it listed.
      object: item === undefined ? null : toPlain(item),
      resourceVersion: result.metadata?.resourceVersion ?? "",
    };
  };

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
      const listed = await list(kind, ref);
      const resourceVersion = listed.resourceVersion;
      // The listed state first, then the watch's events from that resourceVersion on.
      callbacks.onObject(listed.object, "list");
      const watch = new Watch(kc);
      (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = clientIdleMs;
      const controller = await watch.watch(
        `/api/v1/namespaces/${ref.namespace}/${kind}`,
        {
          fieldSelector: `metadata.name=${ref.name}`,
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: watchSeconds,
        },
        (phase: string, obj: unknown) => {
          if (phase === "BOOKMARK") return;
          if (phase === "ERROR") {
            // e.g. 410 Gone: the resourceVersion is too old; end so the caller relists.
            const status = (obj as { code?: unknown } | null)?.code;
            callbacks.onEnd(new WatchError(typeof status === "number" ? status : 0));
            return;
          }
          callbacks.onObject(phase === "DELETED" ? null : toPlain(obj), "watch");
        },
        (err: unknown) => {
          callbacks.onEnd(err);
        },
      );
      return {
        stop: () => {
          controller.abort();
        },
      };
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
      const now = new Date();
      const regardingNamespace =
        spec.regarding.kind === "Node" ? "default" : (spec.regarding.namespace ?? namespace);
      try {
        await core.createNamespacedEvent({
          namespace: regardingNamespace,
          body: {
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
          },
        });
      } catch (err) {
        if (spec.name !== undefined && err instanceof ApiException && err.code === 409) return;
        throw err;
      }
    },
  };
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
