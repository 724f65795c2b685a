import { isAbsolute, join, normalize } from "node:path";

/**
 * The one place that turns a host path (`/etc/default/kubelet`) into a path this process can
 * open: everything lives under one --host-root (`/host` in the pod, a temp dir in tests).
 */
export interface HostPaths {
  readonly root: string;
  resolve(hostPath: string): string;
}

export function hostPaths(root: string): HostPaths {
  const base = normalize(root);
  return Object.freeze({
    root: base,
    resolve(hostPath: string): string {
      // Host paths come from our own tables; a relative or `..` path is a programming error.
      if (!isAbsolute(hostPath) || normalize(hostPath) !== hostPath || hostPath.includes("/../")) {
        throw new Error(`not a clean absolute host path: ${hostPath}`);
      }
      return join(base, hostPath);
    },
  });
}
