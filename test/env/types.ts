/** What the test environment (scripts/test-env) started for this run; read by tests through `testEnv()`. */
export interface RegistryEnv {
  /** host:port as used in image references, e.g. `127.0.0.1:40123`. */
  readonly host: string;
  /** `http` for the plain registry, `https` for the TLS one. */
  readonly scheme: "http" | "https";
  readonly username: string;
  readonly password: string;
  /** htpasswd file the registry reads (bcrypt entries). */
  readonly htpasswdFile: string;
  /** CA that signed the TLS registry's certificate (only for `https`). */
  readonly caFile?: string;
  /** Directory holding only that CA as `ca.crt` (skopeo's `--cert-dir`). */
  readonly caDir?: string;
}

export interface TestEnv {
  /** Root of this run's temp dirs; removed when the run ends. */
  readonly workDir: string;
  readonly registry: { readonly plain: RegistryEnv; readonly tls: RegistryEnv };
  /** Tiny image pushed to both registries under `<host>/<repository>:<tag>`. */
  readonly image: {
    readonly repository: string;
    readonly tag: string;
    /** The built image as a skopeo source (`oci:<layout>:<tag>`), to push to registries of a test's own. */
    readonly source: string;
  };
  readonly containerd: {
    readonly socket: string;
    readonly root: string;
    /** containerd's registry `config_path`: one `<host>/hosts.toml` per registry, read at each pull. */
    readonly certsDir: string;
  };
  readonly kube: {
    /** kube-apiserver URL, `https://127.0.0.1:PORT`. */
    readonly server: string;
    /** Admin (system:masters) kubeconfig. */
    readonly kubeconfig: string;
    readonly caFile: string;
    readonly etcd: string;
    readonly version: string;
  };
  /** Upstream binaries built by scripts/test-env/build-kubernetes.sh (and build-helm.sh). */
  readonly bins: {
    readonly etcd: string;
    readonly kubeApiserver: string;
    readonly kubeControllerManager: string;
    readonly kubeScheduler: string;
    readonly kubelet: string;
    /** The newer kubelet minor of the end-to-end matrix (scripts/k8s-next), same cache. */
    readonly kubeletNext: string;
    /** The older kubelet minor (scripts/k8s-prev), same cache: the oldest node of a mixed fleet. */
    readonly kubeletPrev: string;
    readonly kubectl: string;
    /** The Helm CLI of the release scripts/helm pins (scripts/test-env/build-helm.sh), same cache. */
    readonly helm: string;
  };
  /** CRI API proto (k8s.io/cri-api, same version as the kubelet) for CRI clients in tests. */
  readonly criProto: string;
}
