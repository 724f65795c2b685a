import type {
  ApiObject,
  KubeApi,
  ObjectRef,
  WatchedKind,
  WatchHandle,
} from "../cluster/kube-api.ts";
import type { Backoff } from "./backoff.ts";
import type { WatchProgress } from "./health.ts";

/**
 * Keeps a list+watch alive for as long as it is needed. The client's watcher simply stops on most
 * errors (and the server closes watches now and then), so every end is followed by a fresh
 * list+watch: immediately after a clean close, after a capped, jittered backoff after an error
 * (410 Gone, connection refused, 5xx...). Every (re)start lists again, because anything may have
 * happened while no watch was open; a relist that finds every object at the version already kept
 * (the usual case after the server's timeout) is no change, and costs no pass.
 *
 * It also keeps what it last listed or watched (an informer's cache), so a reconcile pass reads
 * the latest state without asking the API server again: a change costs each node one watch
 * event, not a GET more. Two shapes: one object by name (`keepWatching`), and every object of a
 * kind in a namespace (`keepWatchingAll`) — one watch per node however many of them are used.
 */
export interface KeptWatch {
  /** The object as last seen (null: it does not exist); undefined until the first list. */
  current(): ApiObject | undefined;
  /** When it last heard anything (an object, an end, a failed attempt), for /healthz (health.ts). */
  progress(): WatchProgress;
  stop(): void;
}

export interface KeptCollection {
  /**
   * Every object by name, as last listed or watched; undefined until the first list. Each change
   * makes a new map, so a pass that holds one reads one consistent state.
   */
  current(): ReadonlyMap<string, Readonly<Record<string, unknown>>> | undefined;
  progress(): WatchProgress;
  stop(): void;
}

interface KeepOptions {
  backoff: Backoff;
  onError: (err: unknown, retryInMs: number) => void;
  /** A monotonic clock in ms (health.ts); tests step it by hand. */
  now?: () => number;
}

/** What both shapes watch and whom they tell: the API, the kind, a callback per change. */
interface WatchedBy extends KeepOptions {
  api: KubeApi;
  kind: WatchedKind;
  onChange: () => void;
}

/** One attempt's view: whether it still counts, and how it reports what it hears. */
interface Attempt {
  /** Something arrived; false when this attempt has ended (a late event is dropped). */
  readonly heard: (from: "list" | "watch") => boolean;
  readonly ended: (err: unknown) => void;
}

/** The restart, backoff and progress part, shared by both shapes. */
function keepOpen(
  open: (attempt: Attempt) => Promise<WatchHandle>,
  options: KeepOptions,
): { readonly progress: () => WatchProgress; readonly stop: () => void } {
  const { backoff, onError } = options;
  const now = options.now ?? ((): number => performance.now());
  const startedAt = now();
  let lastHeardAt: number | null = null;
  // stop() may run while a watch is being opened; read through a function so the check after the
  // await is not narrowed away.
  const state = { stopped: false };
  const isStopped = (): boolean => state.stopped;
  let handle: WatchHandle | undefined;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (delayMs: number): void => {
    if (state.stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void start(), delayMs);
  };

  const ended = (err: unknown): void => {
    handle = undefined;
    lastHeardAt = now();
    if (state.stopped) return;
    if (err === null || err === undefined) {
      schedule(100); // a clean close: reopen promptly, but never spin
      return;
    }
    const delay = backoff.next();
    onError(err, delay);
    schedule(delay);
  };

  const start = async (): Promise<void> => {
    if (state.stopped) return;
    const run = { finished: false };
    const attempt: Attempt = {
      heard: (from) => {
        if (run.finished) return false;
        // Only a working watch proves the server healthy: a list alone does not reset the backoff.
        if (from === "watch") backoff.reset();
        lastHeardAt = now();
        return true;
      },
      ended: (err) => {
        if (run.finished) return;
        run.finished = true;
        ended(err);
      },
    };
    try {
      const h = await open(attempt);
      if (isStopped()) {
        h.stop();
        return;
      }
      handle = h;
    } catch (err) {
      attempt.ended(err);
    }
  };

  void start();
  return {
    progress: () => ({ startedAt, lastHeardAt }),
    stop: () => {
      state.stopped = true;
      clearTimeout(timer);
      handle?.stop();
    },
  };
}

export function keepWatching(options: WatchedBy & { ref: ObjectRef }): KeptWatch {
  const { api, kind, ref, onChange } = options;
  let latest: ApiObject | undefined;
  const kept = keepOpen(
    (attempt) =>
      api.watch(kind, ref, {
        onObject: (obj, from) => {
          if (!attempt.heard(from)) return;
          const same =
            from === "list" && latest !== undefined && versionKey(latest) === versionKey(obj);
          latest = obj;
          if (!same) onChange();
        },
        onEnd: attempt.ended,
      }),
    options,
  );
  return { current: () => latest, progress: kept.progress, stop: kept.stop };
}

/**
 * Every object of `kind` in `namespace`. Each (re)list replaces the map wholesale, so an object
 * deleted while no watch was open is gone from it too.
 */
export function keepWatchingAll(options: WatchedBy & { namespace: string }): KeptCollection {
  const { api, kind, namespace, onChange } = options;
  let latest: ReadonlyMap<string, Readonly<Record<string, unknown>>> | undefined;
  const kept = keepOpen(
    (attempt) =>
      api.watchCollection(kind, namespace, {
        onList: (objects) => {
          if (!attempt.heard("list")) return;
          const listed = new Map<string, Readonly<Record<string, unknown>>>();
          for (const obj of objects) {
            const name = (obj["metadata"] as { name?: unknown } | undefined)?.name;
            if (typeof name === "string") listed.set(name, obj);
          }
          const same =
            latest !== undefined &&
            latest.size === listed.size &&
            [...listed].every(
              ([name, obj]) => versionKey(latest?.get(name) ?? null) === versionKey(obj),
            );
          latest = listed;
          if (!same) onChange();
        },
        onChange: (name, obj) => {
          if (!attempt.heard("watch")) return;
          // A watch starts after the list, so the map exists; copied, never changed in place.
          const next = new Map(latest);
          if (obj === null) next.delete(name);
          else next.set(name, obj);
          latest = next;
          onChange();
        },
        onEnd: attempt.ended,
      }),
    options,
  );
  return { current: () => latest, progress: kept.progress, stop: kept.stop };
}

/** An object's identity and version ("" for none): equal keys, the same object as it was. */
function versionKey(obj: Readonly<Record<string, unknown>> | null): string {
  if (obj === null) return "";
  const metadata = obj["metadata"] as { uid?: unknown; resourceVersion?: unknown } | undefined;
  return `${String(metadata?.uid)}/${String(metadata?.resourceVersion)}`;
}
