import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import { errorText } from "../errors.ts";

/**
 * /healthz (no loop or watch is stuck: health.ts; the liveness probe), /readyz (this node runs
 * the current config and has credentials: what gates the DaemonSet's rollout) and /metrics.
 */
export interface Probe {
  /** null when fine, else the reason (shown in the probe's body). */
  readonly healthy: () => string | null;
  readonly ready: () => Promise<string | null>;
}

export async function startStatusServer(
  listen: { host: string; port: number },
  probe: Probe,
  registry: Registry,
): Promise<Server> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: string, type = "text/plain; charset=utf-8"): void => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    const path = (req.url ?? "/").split("?")[0];
    void (async () => {
      switch (path) {
        case "/healthz": {
          const why = probe.healthy();
          reply(why === null ? 200 : 503, why === null ? "ok\n" : `${why}\n`);
          return;
        }
        case "/readyz": {
          const why = await probe.ready();
          reply(why === null ? 200 : 503, why === null ? "ok\n" : `${why}\n`);
          return;
        }
        case "/metrics":
          reply(200, await registry.metrics(), registry.contentType);
          return;
        default:
          reply(404, "not found\n");
      }
    })().catch((err: unknown) => {
      reply(500, `${errorText(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, resolve);
  });
  return server;
}
