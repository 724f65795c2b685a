/**
 * What the end-to-end scenarios share: polling with a deadline, ordered steps that skip the rest
 * after a failure and report their durations, and the pod outcomes read through kubectl.
 */
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { kubectl } from "../sync/cluster.ts";

/** Polls `probe` until it returns a value; throws with the last error after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}: ${String(last)}`);
}

export interface Steps {
  /** Wraps a step: the steps build on each other, so after a failure the rest are skipped. */
  readonly step: (fn: (t: TestContext) => Promise<void>) => (t: TestContext) => Promise<void>;
  /** Runs `body`, reports its duration as a diagnostic and keeps it for `summary()`. */
  readonly timed: (t: TestContext, name: string, body: () => Promise<void>) => Promise<void>;
  readonly summary: () => string;
}

export function steps(): Steps {
  let failedStep: string | null = null;
  const timings: [string, number][] = [];
  return {
    step: (fn) => async (t) => {
      if (failedStep !== null) {
        t.skip(`after the failure of step "${failedStep}"`);
        return;
      }
      try {
        await fn(t);
      } catch (err) {
        failedStep = t.name;
        throw err;
      }
    },
    timed: async (t, name, body) => {
      const start = performance.now();
      try {
        await body();
      } finally {
        const seconds = (performance.now() - start) / 1000;
        timings.push([name, seconds]);
        t.diagnostic(`${name}: ${seconds.toFixed(1)} s`);
      }
    },
    summary: () => timings.map(([s, secs]) => `${s} ${secs.toFixed(1)} s`).join("; "),
  };
}

interface PodStatus {
  status: {
    phase?: string;
    containerStatuses?: { state?: { waiting?: { reason?: string } } }[];
  };
}

/** kubectl against one cluster, and what the scenarios read through it. */
export interface Kubectl {
  (args: readonly string[], input?: string): Promise<string>;
  readonly json: <T>(args: readonly string[]) => Promise<T>;
  /** "Running", or the waiting reason once the pull failed (ErrImagePull, ImagePullBackOff). */
  podOutcome(namespace: string, name: string, timeoutMs: number): Promise<string>;
  /** The messages of the Events about one pod, one per line. */
  podEvents(namespace: string, name: string): Promise<string>;
  nodeReady(name: string): Promise<boolean>;
}

export function kubectlFor(kubeconfig: () => string): Kubectl {
  const kc = (args: readonly string[], input?: string): Promise<string> =>
    kubectl(args, kubeconfig(), input);
  const json = async <T>(args: readonly string[]): Promise<T> =>
    JSON.parse(await kc([...args, "-o", "json"])) as T;
  return Object.assign(kc, {
    json,
    podOutcome: (namespace: string, name: string, timeoutMs: number): Promise<string> =>
      waitFor(
        `pod ${namespace}/${name} to run or fail its pull`,
        async () => {
          const p = await json<PodStatus>(["-n", namespace, "get", "pod", name]);
          if (p.status.phase === "Running") return "Running";
          const reason = p.status.containerStatuses?.[0]?.state?.waiting?.reason;
          return reason === "ErrImagePull" || reason === "ImagePullBackOff" ? reason : undefined;
        },
        timeoutMs,
      ),
    async podEvents(namespace: string, name: string): Promise<string> {
      const events = await json<{
        items: { involvedObject: { name: string }; message: string }[];
      }>(["-n", namespace, "get", "events"]);
      return events.items
        .filter((e) => e.involvedObject.name === name)
        .map((e) => e.message)
        .join("\n");
    },
    async nodeReady(name: string): Promise<boolean> {
      const n = await json<{ status: { conditions: { type: string; status: string }[] } }>([
        "get",
        "node",
        name,
      ]);
      return n.status.conditions.some((c) => c.type === "Ready" && c.status === "True");
    },
  });
}

/** What the kubelet reports when a registry refused the pull for want of credentials. */
export const refusedPull = /401|[Uu]nauthorized|authorization failed/;
