/**
 * The end-to-end test's own control plane: etcd and kube-apiserver (test/env/kube.ts, a second
 * instance, so no other test shares or restarts it), kube-controller-manager (the DaemonSet,
 * ServiceAccount and root-CA publisher controllers among the defaults) and kube-scheduler (it binds
 * DaemonSet pods to nodes). Upstream binaries of the pinned release, on 127.0.0.1 (kube-apiserver
 * on a test bridge's address when asked), with NodeRestriction added to the default admission
 * plugins as kubeadm does.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startDaemon, waitUntil, type Daemon } from "../env/daemon.ts";
import { apiGet, startKube, type KubeInstance } from "../env/kube.ts";
import type { TestEnv } from "../env/types.ts";

export interface ControlPlane {
  readonly kube: KubeInstance;
  stop(): Promise<void>;
}

export async function startControlPlane(
  dir: string,
  bins: TestEnv["bins"],
  /**
   * The API server's address (default 127.0.0.1): the test bridge's for nodes in their own
   * network namespaces (test/e2e/node/network.ts). It then reaches kubelets (logs, exec) at
   * their InternalIP, the `--node-ip` each registered, as no node name resolves here.
   */
  opts: { readonly address?: string } = {},
): Promise<ControlPlane> {
  // NodeRestriction, as kubeadm enables it: it is where the API server checks which audiences a
  // node may request service-account tokens for (scoped credentials need nodecred's RBAC there).
  const kube = await startKube(dir, bins, {
    apiserverArgs: [
      "--enable-admission-plugins=NodeRestriction",
      ...(opts.address === undefined ? [] : ["--kubelet-preferred-address-types=InternalIP"]),
    ],
    ...(opts.address === undefined ? {} : { address: opts.address }),
  });
  const base = join(dir, "control-plane");
  mkdirSync(base, { recursive: true });
  const common = [
    `--kubeconfig=${kube.kubeconfig}`,
    "--leader-elect=false",
    "--bind-address=127.0.0.1",
    "--secure-port=0",
    "--v=1",
  ];
  const daemons: Daemon[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(daemons.map((d) => d.stop()));
    await kube.apiserver.stop();
    await kube.etcd.stop();
  };
  try {
    daemons.push(
      startDaemon(
        "kube-controller-manager",
        [
          bins.kubeControllerManager,
          ...common,
          `--root-ca-file=${kube.caFile}`,
          "--use-service-account-credentials=false",
          // One small node: quick DaemonSet reactions, no node eviction during kubelet restarts.
          "--concurrent-daemonset-syncs=1",
        ],
        { logFile: join(base, "kube-controller-manager.log") },
      ),
      startDaemon("kube-scheduler", [bins.kubeScheduler, ...common], {
        logFile: join(base, "kube-scheduler.log"),
      }),
    );
    // Up = the ServiceAccount controller made `default` in kube-system.
    const kcm = daemons[0];
    if (kcm === undefined) throw new Error("no kube-controller-manager");
    await waitUntil(kcm, "the default ServiceAccount", async () => {
      const r = await apiGet(kube, "/api/v1/namespaces/default/serviceaccounts/default");
      return r.status === 200;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { kube, stop };
}
