/** What node.ts hands the stand-in init (node-init.ts) as JSON. Paths are absolute. */
export interface NodeSpec {
  /** The node's private directory (overlay upper/work dirs, logs) on the run's temp dir. */
  readonly work: string;
  /** Host directories the node sees through an overlay (its writes go to `work`). */
  readonly overlays: readonly string[];
  /** Files written into the node's view after the overlays are up (the node's installation). */
  readonly files: readonly {
    readonly path: string;
    readonly content: string;
    readonly mode: number;
  }[];
  readonly symlinks: readonly { readonly path: string; readonly target: string }[];
  readonly containerdConfig: string;
  /** The stand-in systemctl's socket. */
  readonly socket: string;
  /** JSON lines: kubelet and containerd starts and exits, restarts, injected faults. */
  readonly journal: string;
  /** Test knobs (see node-init.ts). */
  readonly faults: string;
  /**
   * The node has its own network namespace: init brings `lo` up and gives `eth0` (the veth end
   * node.ts moves in) this address (CIDR) before anything starts. No route besides the on-link one.
   */
  readonly network?: { readonly address: string };
}
