import { STATUS_CODES, request as httpRequest } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { createInterface } from "node:readline";

/**
 * One watch request to the API server, on node:http(s): the events of one long GET, each line one
 * JSON event. kube-api.ts hands it the kubeconfig's credentials (`KubeConfig.applyToHTTPSOptions`,
 * the client's public API: bearer and file tokens, exec plugins, client certificates, the CA,
 * proxies), so this file needs no import of the client. The client's own `Watch` gives up after
 * 30 s without a byte and offers no public way to wait longer; this one waits `idleMs`.
 */

/** How to reach the API server as the kubeconfig's user. */
export interface ApiConnection {
  /** The server's URL as the kubeconfig names it (`https://host:port`, maybe with a path). */
  readonly server: string;
  /** Puts the user's credentials and the cluster's TLS settings into a request's options. */
  readonly authorize: (options: RequestOptions) => Promise<void>;
}

export interface WatchRequest {
  /** The collection's path, e.g. `/api/v1/namespaces/NS/secrets`. */
  readonly path: string;
  /** Query parameters besides `watch=true` (fieldSelector, resourceVersion, timeoutSeconds...). */
  readonly query: Readonly<Record<string, string | number | boolean>>;
  /** The request is given up when no byte arrived for this long (while connecting, too). */
  readonly idleMs: number;
  /** One event as the server sent it: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object. */
  readonly onEvent: (type: string, object: Record<string, unknown>) => void;
  /**
   * Called once: null when the server ended the stream (its timeout), else why it ended (an answer
   * other than 200, a broken connection, the idle limit, `abort()`). No event follows it.
   */
  readonly onEnd: (err: unknown) => void;
}

export interface WatchStream {
  /** Ends the request; `onEnd` gets an AbortError unless it has already been called. */
  abort(): void;
}

/** An answer other than 200: its status text, and the status code for whoever needs it. */
export class WatchStatusError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, statusText: string | undefined) {
    super(statusText || STATUS_CODES[statusCode] || "Internal Server Error");
    this.name = "WatchStatusError";
    this.statusCode = statusCode;
  }
}

/** Opens the watch; rejects only when the credentials cannot be had (an exec plugin failed). */
export async function openWatch(
  connection: ApiConnection,
  watch: WatchRequest,
): Promise<WatchStream> {
  const url = new URL(connection.server + watch.path);
  url.searchParams.set("watch", "true");
  for (const [key, value] of Object.entries(watch.query)) url.searchParams.set(key, String(value));
  const options: RequestOptions = { method: "GET" };
  await connection.authorize(options);

  let ended = false;
  let idle: NodeJS.Timeout | undefined;
  const end = (err: unknown): void => {
    if (ended) return;
    ended = true;
    clearTimeout(idle);
    request.destroy();
    watch.onEnd(err);
  };
  const stillIdle = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      end(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
    }, watch.idleMs);
    // A watch alone keeps no process alive (the client's timer did not either).
    idle.unref();
  };

  const send = url.protocol === "http:" ? httpRequest : httpsRequest;
  const request = send(url, options, (response) => {
    if (response.statusCode !== 200) {
      end(new WatchStatusError(response.statusCode ?? 0, response.statusMessage));
      return;
    }
    stillIdle();
    response.on("data", stillIdle);
    response.on("error", end);
    const lines = createInterface({ input: response, crlfDelay: Infinity });
    // readline passes the response's error on: one of the two ends the watch, the other is a no-op.
    lines.on("error", end);
    lines.on("line", (line) => {
      if (ended) return;
      const event = parseEvent(line);
      if (event === null) return;
      try {
        watch.onEvent(event.type, event.object);
      } catch (err) {
        end(err);
      }
    });
    // After the last line (readline closes once the stream has ended); a broken stream errors first.
    lines.on("close", () => {
      end(null);
    });
    response.on("close", () => {
      end(null);
    });
  });
  request.on("error", end);
  stillIdle();
  request.end();
  return {
    abort: () => {
      end(new DOMException("This operation was aborted", "AbortError"));
    },
  };
}

/** A line that is not a JSON event with a type and an object is skipped, as the client did. */
function parseEvent(line: string): { type: string; object: Record<string, unknown> } | null {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof event !== "object" || event === null) return null;
  const { type, object } = event as { type?: unknown; object?: unknown };
  if (typeof type !== "string" || typeof object !== "object" || object === null) return null;
  return { type, object: object as Record<string, unknown> };
}
