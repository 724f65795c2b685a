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
 * Keeps one list+watch of one object alive for as long as it is needed. The client's watcher
 * simply stops on most errors (and the server closes watches now and then), so every end is
 * followed by a fresh list+watch: immediately after a clean close, after a capped, jittered
 * backoff after an error (410 Gone, connection refused, 5xx...). Every (re)start lists the object
 * again, because anything may have happened while no watch was open.
 *
 * It also keeps the object as last listed or watched (an informer's cache, for one object), so a
 * reconcile pass reads the latest state without asking the API server again: a change costs each
 * node one watch event, not a GET more.
 */
export interface KeptWatch {
  /** The object as last seen (null: it does not exist); undefined until the first list. */
  current(): ApiObject | undefined;
  /** When it last heard anything (an object, an end, a failed attempt), for /healthz (health.ts). */
  progress(): WatchProgress;
  stop(): void;
}

export function keepWatching(options: {
  api: KubeApi;
  kind: WatchedKind;
  ref: ObjectRef;
  backoff: Backoff;
  onChange: () => void;
  onError: (err: unknown, retryInMs: number) => void;
  /** A monotonic clock in ms (health.ts); tests step it by hand. */
  now?: () => number;
}): KeptWatch {
  const { api, kind, ref, backoff, onChange, onError } = options;
  const now = options.now ?? ((): number => performance.now());
  const startedAt = now();
  let lastHeardAt: number | null = null;
  // stop() may run while a watch is being opened; read through a function so the check after the
  // await is not narrowed away.
  const state = { stopped: false };
  const isStopped = (): boolean => state.stopped;
  let handle: WatchHandle | undefined;
  let timer: NodeJS.Timeout | undefined;
  let latest: ApiObject | undefined;

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
    try {
      const h = await api.watch(kind, ref, {
        onObject: (obj, from) => {
          if (run.finished) return;
          // Only a working watch proves the server healthy: a list alone does not reset the backoff.
          if (from === "watch") backoff.reset();
          lastHeardAt = now();
          latest = obj;
          onChange();
        },
        onEnd: (err) => {
          if (run.finished) return;
          run.finished = true;
          ended(err);
        },
      });
      if (isStopped()) {
        h.stop();
        return;
      }
      handle = h;
    } catch (err) {
      if (!run.finished) {
        run.finished = true;
        ended(err);
      }
    }
  };

  void start();
  return {
    current: () => latest,
    progress: () => ({ startedAt, lastHeardAt }),
    stop(): void {
      state.stopped = true;
      clearTimeout(timer);
      handle?.stop();
    },
  };
}
