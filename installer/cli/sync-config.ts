import type { ParseArgsOptionsConfig } from "node:util";
import type { Problem } from "../core/problems.ts";
import type { SyncConfig } from "../sync/run.ts";
import { readFlags, refuseProblems } from "./flags.ts";

/**
 * `nodecred-installer run`: flags and the pod's environment (downward API) → one frozen
 * SyncConfig, every problem listed at once. The only place `run` reads either.
 */
export const runUsage = `  nodecred-installer run [--host-root DIR] [--namespace NS] [--secret NAME] [--configmap NAME]
      [--daemonset NAME] [--node NAME] [--pod NAME] [--kubeconfig FILE] [--listen HOST:PORT]
      [--resync SECONDS] [--applied-status-file FILE] [--kubelet-healthz-url URL]
      environment (the DaemonSet sets it through the downward API; flags win):
      POD_NAMESPACE, POD_NAME, POD_UID, NODE_NAME, NODECRED_POD_CONFIG_HASH
`;

/** The manifest's: the node's loopback only (hostNetwork), a port of its own. */
export const defaultListen = "127.0.0.1:9847";

const runFlags = {
  "host-root": { type: "string", default: "/host" },
  namespace: { type: "string" },
  secret: { type: "string", default: "nodecred-credentials" },
  configmap: { type: "string", default: "nodecred-config" },
  daemonset: { type: "string", default: "nodecred" },
  node: { type: "string" },
  pod: { type: "string" },
  kubeconfig: { type: "string" },
  listen: { type: "string", default: defaultListen },
  resync: { type: "string", default: "300" },
  "applied-status-file": { type: "string" },
  "kubelet-healthz-url": { type: "string", default: "http://127.0.0.1:10248/healthz" },
} as const satisfies ParseArgsOptionsConfig;

function parseListen(text: string, problems: Problem[]): { host: string; port: number } {
  const i = text.lastIndexOf(":");
  const host = i <= 0 ? "0.0.0.0" : text.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(text.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    problems.push({
      path: "--listen",
      message: `expected [HOST]:PORT, got ${JSON.stringify(text)}`,
    });
  }
  return { host, port };
}

export function parseSyncConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): SyncConfig {
  const problems: Problem[] = [];
  const parsed = readFlags(argv, runFlags, problems);
  const v = parsed.values;
  if (parsed.positionals.length > 0) {
    problems.push({
      path: "",
      message: `unexpected arguments: ${parsed.positionals.join(" ")}`,
    });
  }
  const required = (flag: string, value: string | undefined, envName: string): string => {
    if (value === undefined || value === "") {
      problems.push({
        path: `--${flag}`,
        message: `required (or the ${envName} environment variable)`,
      });
      return "";
    }
    return value;
  };
  const resync = Number(v.resync);
  if (!Number.isFinite(resync) || resync < 1) {
    problems.push({
      path: "--resync",
      message: `expected seconds >= 1, got ${JSON.stringify(v.resync)}`,
    });
  }
  const config: SyncConfig = Object.freeze({
    namespace: required("namespace", v.namespace ?? env["POD_NAMESPACE"], "POD_NAMESPACE"),
    secretName: v.secret,
    configMapName: v.configmap,
    daemonSetName: v.daemonset,
    nodeName: required("node", v.node ?? env["NODE_NAME"], "NODE_NAME"),
    podName: required("pod", v.pod ?? env["POD_NAME"], "POD_NAME"),
    // The node report's owner: with it the report goes when the pod goes (no flag: tests and
    // out-of-cluster runs have no pod to be owned by).
    podUid: env["POD_UID"] ?? "",
    hostRoot: v["host-root"],
    kubeconfig: v.kubeconfig ?? null,
    listen: Object.freeze(parseListen(v.listen, problems)),
    resyncMs: resync * 1000,
    podConfigHash: env["NODECRED_POD_CONFIG_HASH"] ?? "",
    appliedStatusFile: v["applied-status-file"] ?? null,
    kubeletHealthzUrl: v["kubelet-healthz-url"],
  });
  refuseProblems(problems);
  return config;
}
