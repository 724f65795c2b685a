import type { KubeApi } from "../cluster/kube-api.ts";
import {
  leaseWrite,
  sameReport,
  type NodeReport,
  type Reporter,
} from "../core/report/node-report.ts";
import type { Backoff } from "./backoff.ts";

export interface ReportWriter {
  /** The report after a pass: sent unless equal to the last one written; never waits for it. */
  offer(report: NodeReport): void;
  /** Resolves when the Lease says the latest report, or the writer is stopped (tests, bench). */
  idle(): Promise<void>;
  /** No more retries; resolves when the write under way has ended. */
  stop(): Promise<void>;
}

/**
 * Sends the node report (core/report/node-report.ts) as this node's Lease, one write at a time and only
 * the latest: reports offered while a write is under way are coalesced. A failed write is counted
 * and retried after a capped, jittered backoff (a fleet's writes refused together, 429 Too Many
 * Requests, come back spread out) with the latest report then; the policy loop never waits for the
 * API server here.
 */
export function reportWriter(options: {
  readonly api: KubeApi;
  readonly namespace: string;
  readonly reporter: Reporter;
  readonly backoff: Backoff;
  readonly onWritten: (report: NodeReport) => void;
  readonly onError: (err: unknown, retryInMs: number) => void;
}): ReportWriter {
  const { api, reporter, backoff } = options;
  const ref = { namespace: options.namespace, name: reporter.nodeName };
  let written: NodeReport | null = null;
  let wanted: NodeReport | null = null;
  let sending: Promise<void> | null = null;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  let settled: (() => void)[] = [];

  const pending = (): boolean =>
    wanted !== null && (written === null || !sameReport(written, wanted));
  const settle = (): void => {
    if (sending !== null || retry !== undefined) return;
    for (const resolve of settled) resolve();
    settled = [];
  };

  /** Writes until the Lease says the latest report; clears `sending` in the same tick as its last check. */
  const drain = async (): Promise<void> => {
    for (;;) {
      const next = wanted;
      const write =
        next === null || stopped ? null : leaseWrite(written, next, reporter, new Date());
      if (next === null || write === null) break;
      try {
        await api.writeLease(ref, write);
      } catch (err) {
        const delay = backoff.next();
        options.onError(err, delay);
        if (!stopped) {
          retry = setTimeout(() => {
            retry = undefined;
            kick();
          }, delay);
        }
        break;
      }
      backoff.reset();
      written = next;
      options.onWritten(next);
    }
    sending = null;
    settle();
  };
  /** Starts a write when there is one to do and none under way or waiting to retry. */
  const kick = (): void => {
    if (stopped || sending !== null || retry !== undefined) return;
    // Only with a write to do: drain then always awaits before it ends.
    if (!pending()) {
      settle();
      return;
    }
    sending = drain();
  };

  return {
    offer(report) {
      wanted = report;
      kick();
    },
    idle() {
      if (sending === null && (retry === undefined || stopped)) return Promise.resolve();
      return new Promise((resolve) => settled.push(resolve));
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      retry = undefined;
      await sending;
      settle();
    },
  };
}
