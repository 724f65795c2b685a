import { kubeApi, loadKubeConfig } from "../cluster/kube-api.ts";
import type { Logger } from "../log.ts";
import { startSync, type SyncConfig } from "./run.ts";

/**
 * `nodecred-installer run` until SIGTERM/SIGINT: then the watches stop, the reconcile pass under
 * way (a credentials write, a patch) finishes, and the process exits 0.
 */
export async function runSyncUntilSignalled(config: SyncConfig, log: Logger): Promise<void> {
  const api = kubeApi(loadKubeConfig(config.kubeconfig));
  const sync = await startSync(config, api, log);
  await new Promise<void>((resolve) => {
    const done = (signal: string): void => {
      log.info("stopping", { reason: signal });
      resolve();
    };
    process.once("SIGTERM", () => {
      done("SIGTERM");
    });
    process.once("SIGINT", () => {
      done("SIGINT");
    });
  });
  await sync.stop();
}
