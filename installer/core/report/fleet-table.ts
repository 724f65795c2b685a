/**
 * `kubectl nodecred status` as text: one row per node, under it why a node is not current, then
 * the summary; and as JSON (`-o json`, the shape documented in installer/README.md). Pure.
 */
import type { FleetStatus, NodeRow, Versioned } from "./fleet-status.ts";

/** The `-o json` document: FleetStatus under a kind and version, so its shape can evolve. */
export function fleetJson(status: FleetStatus): string {
  return `${JSON.stringify({ apiVersion: "nodecred.io/v1alpha1", kind: "FleetStatus", ...status }, null, 2)}\n`;
}

function versioned(v: Versioned, extra = ""): string {
  if (v.version === null) return "-";
  const verdict = v.current === null ? "" : v.current ? " current" : " OLD";
  return `${v.version}${verdict}${extra}`;
}

function podCell(row: NodeRow): string {
  const pod = row.pod;
  if (pod === null) return "(none)";
  const marks = [!pod.latest ? "old revision" : "", pod.deleting ? "deleting" : ""].filter(
    (m) => m !== "",
  );
  return marks.length === 0 ? pod.name : `${pod.name} (${marks.join(", ")})`;
}

function credentialsCell(row: NodeRow): string {
  const c = row.credentials;
  if (c.version === null && c.state === null) return "-";
  return `${c.version ?? "?"} ${c.state ?? ""}`.trim();
}

function pad(cells: readonly (readonly string[])[]): string[] {
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length))) ?? [];
  return cells.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd(),
  );
}

export function fleetTable(status: FleetStatus): string {
  const header = [
    "NODE",
    "READY",
    "CURRENT",
    "POD",
    "KUBELET CONFIG",
    "POLICY (CONFIGMAP)",
    "CREDENTIALS",
  ];
  const rows = status.nodes.map((r) => [
    r.node,
    r.ready ? "yes" : "NO",
    r.current ? "yes" : "NO",
    podCell(r),
    versioned(r.kubeletConfig),
    versioned(r.policyConfig),
    credentialsCell(r),
  ]);
  const lines: string[] = [];
  const padded = pad([header, ...rows]);
  lines.push(padded[0] ?? "");
  status.nodes.forEach((r, i) => {
    lines.push(padded[i + 1] ?? "");
    for (const why of r.why) lines.push(`    - ${why}`);
  });
  if (status.nodes.length === 0) lines.push("(no nodes)");
  const s = status.summary;
  lines.push("");
  lines.push(
    `Nodes:    ${String(s.nodes)}: ${String(s.current)} current, ${String(s.ready)} ready, ${String(s.installed)} with a nodecred pod`,
  );
  const r = s.rollout;
  const progress = `updated ${String(r.updated)} of ${String(r.total)}`;
  switch (r.state) {
    case "complete":
      lines.push(`Rollout:  complete (${progress})`);
      break;
    case "in-progress":
      lines.push(`Rollout:  in progress (${progress})`);
      break;
    case "stopped":
      lines.push(
        `Rollout:  STOPPED at ${r.at.map((a) => a.node).join(", ")} (${progress}): the DaemonSet controller replaces no further pod while these are unavailable`,
      );
      for (const a of r.at) lines.push(`    - ${a.node}: ${a.why}`);
      break;
  }
  const t = status.target;
  lines.push(
    `Target:   DaemonSet ${status.namespace}/${status.daemonSet} revision ${t.revision ?? "?"}, kubelet config ${t.kubeletConfig ?? "(none set yet)"}, ConfigMap version ${t.configVersion ?? "?"}`,
  );
  for (const note of status.notes) lines.push(`Note:     ${note}`);
  return `${lines.join("\n")}\n`;
}
