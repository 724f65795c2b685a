/**
 * etcd and kube-apiserver (upstream, built by scripts/test-env/build-kubernetes.sh), on 127.0.0.1
 * and ephemeral ports: RBAC authorization, client-certificate admin, and a service-account signing key
 * so that ServiceAccount tokens (TokenRequest) authenticate for real.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { startDaemon, waitUntil, type Daemon } from "./daemon.ts";
import { issueCert, newCA, newPrivateKey, publicKeyOf, type KeyPair } from "./pki.ts";
import { freePort } from "./ports.ts";

export interface KubeInstance {
  readonly etcd: Daemon;
  readonly apiserver: Daemon;
  readonly etcdUrl: string;
  readonly server: string;
  readonly caFile: string;
  readonly kubeconfig: string;
  readonly admin: KeyPair;
  /** The cluster CA with its key, for tests that issue certificates of their own (a kubelet's). */
  readonly ca: KeyPair;
  /** Stops kube-apiserver (etcd keeps the data); `startApiserver` brings it back on the same port. */
  stopApiserver(): Promise<void>;
  startApiserver(): Promise<void>;
}

export async function startEtcd(
  dir: string,
  etcdBin: string,
): Promise<{ daemon: Daemon; url: string }> {
  const base = join(dir, "etcd");
  mkdirSync(base, { recursive: true });
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const daemon = startDaemon(
    "etcd",
    [
      etcdBin,
      "--name=nodecred-test",
      `--data-dir=${join(base, "data")}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=nodecred-test=http://127.0.0.1:${peerPort}`,
      "--unsafe-no-fsync", // test data: durability is not under test, speed is welcome
      "--log-level=warn",
      "--logger=zap",
    ],
    { logFile: join(base, "etcd.log") },
  );
  await waitUntil(daemon, "/health", async () => {
    const res = await fetch(`${url}/health`);
    return res.ok;
  });
  return { daemon, url };
}

/** GET on the API server as admin; resolves with the status code and body. */
export function apiGet(
  kube: { server: string; caFile: string; admin: KeyPair },
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${kube.server}${path}`,
      {
        ca: readFileSync(kube.caFile),
        cert: readFileSync(kube.admin.cert),
        key: readFileSync(kube.admin.key),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.once("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.once("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.end();
  });
}

export async function startKube(
  dir: string,
  bins: { etcd: string; kubeApiserver: string },
  options: {
    /** More kube-apiserver flags, e.g. `--enable-admission-plugins=NodeRestriction`. */
    readonly apiserverArgs?: readonly string[];
    /**
     * Where kube-apiserver listens and what it advertises (default 127.0.0.1), e.g. a test
     * bridge's address that nodes in their own network namespaces reach; in its certificate too.
     */
    readonly address?: string;
  } = {},
): Promise<KubeInstance> {
  const etcd = await startEtcd(dir, bins.etcd);
  const base = join(dir, "kube");
  const pki = join(base, "pki");
  mkdirSync(pki, { recursive: true });
  const ca = newCA(pki, "kube-ca");
  const address = options.address ?? "127.0.0.1";
  const serving = issueCert(ca, pki, "apiserver", {
    commonName: "kube-apiserver",
    altNames: [
      "IP:127.0.0.1",
      ...(address === "127.0.0.1" ? [] : [`IP:${address}`]),
      "DNS:localhost",
      "DNS:kubernetes.default.svc",
    ],
    usage: "server",
  });
  const admin = issueCert(ca, pki, "admin", {
    commonName: "nodecred-test-admin",
    organization: "system:masters",
    usage: "client",
  });
  const saKey = newPrivateKey(join(pki, "sa.key"));
  const saPub = publicKeyOf(saKey, join(pki, "sa.pub"));
  const port = await freePort();
  const server = `https://${address}:${port}`;
  const argv = [
    bins.kubeApiserver,
    `--etcd-servers=${etcd.url}`,
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    `--secure-port=${port}`,
    `--tls-cert-file=${serving.cert}`,
    `--tls-private-key-file=${serving.key}`,
    `--client-ca-file=${ca.cert}`,
    "--authorization-mode=Node,RBAC",
    "--allow-privileged=true", // as kubeadm sets it: DaemonSets like ours need it
    `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`,
    "--service-account-issuer=https://kubernetes.default.svc",
    "--api-audiences=https://kubernetes.default.svc",
    "--service-cluster-ip-range=10.96.0.0/16",
    // No kube-proxy, no Service network here: nothing should try to reach the endpoints.
    "--endpoint-reconciler-type=none",
    // How it reaches kubelets (logs, exec): with the admin's certificate.
    `--kubelet-client-certificate=${admin.cert}`,
    `--kubelet-client-key=${admin.key}`,
    "--enable-priority-and-fairness=false",
    "--profiling=false",
    "--v=1",
    ...(options.apiserverArgs ?? []),
  ];
  let apiserver: Daemon;
  const startApiserver = async (): Promise<void> => {
    apiserver = startDaemon("kube-apiserver", argv, { logFile: join(base, "kube-apiserver.log") });
    await waitUntil(
      apiserver,
      "/readyz",
      async () => (await apiGet({ server, caFile: ca.cert, admin }, "/readyz")).status === 200,
      120_000,
    );
  };
  await startApiserver();
  const kubeconfig = join(base, "admin.kubeconfig");
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
  - name: nodecred-test
    cluster:
      server: ${server}
      certificate-authority: ${ca.cert}
users:
  - name: admin
    user:
      client-certificate: ${admin.cert}
      client-key: ${admin.key}
contexts:
  - name: admin@nodecred-test
    context:
      cluster: nodecred-test
      user: admin
current-context: admin@nodecred-test
`,
    { mode: 0o600 },
  );
  return {
    etcd: etcd.daemon,
    get apiserver() {
      return apiserver;
    },
    etcdUrl: etcd.url,
    server,
    caFile: ca.cert,
    kubeconfig,
    admin,
    ca,
    stopApiserver: () => apiserver.stop(),
    startApiserver,
  };
}
