/**
 * The test nodes' network: a Linux bridge in this (the test's) network namespace with one /24,
 * and per node a veth pair whose far end is the node's `eth0`, in the node's own network
 * namespace (node.ts starts it with `unshare --net`). Nothing is routed: no default route in the
 * nodes, no forwarding, no NAT; IPv6 link-local addresses are not generated. The API server and
 * the registries listen on the bridge's address, the nodes on theirs: traffic stays between
 * this machine's test processes.
 *
 * Link names carry the owner's PID (`ncbr<PID>`, `ncv<PID>n<i>`), so a run that was killed
 * leaves links that the next run recognises and removes (`removeStale`).
 */
import { execFileSync } from "node:child_process";
import { alive } from "./host-ports.ts";

const bridgePrefix = "ncbr";
const vethPrefix = "ncv";

function ip(args: readonly string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function linkNames(): string[] {
  return ip(["-o", "link", "show"])
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/** Removes bridges and veths of this test whose owner process is gone; returns their names. */
export function removeStale(): string[] {
  const removed: string[] = [];
  for (const name of linkNames()) {
    const owner =
      new RegExp(`^${bridgePrefix}(\\d+)$`).exec(name)?.[1] ??
      new RegExp(`^${vethPrefix}(\\d+)n\\d+$`).exec(name)?.[1];
    if (owner === undefined || alive(Number(owner))) continue;
    try {
      ip(["link", "del", name]);
      removed.push(name);
    } catch {
      // gone meanwhile (deleting a veth deletes its peer)
    }
  }
  return removed;
}

/** A /24 of 10.217.0.0/16 that no address or route of this machine touches. */
function freeSubnet(): number {
  const used = ip(["-4", "-o", "addr", "show"]) + ip(["-4", "route", "show", "table", "all"]);
  const start = process.pid % 250;
  for (let i = 0; i < 250; i++) {
    const x = ((start + i) % 250) + 1;
    if (!used.includes(`10.217.${String(x)}.`)) return x;
  }
  throw new Error("no free 10.217.X.0/24 for the test bridge");
}

export interface TestBridge {
  readonly name: string;
  /** The bridge's own address (the API server and registries bind here), e.g. 10.217.5.1. */
  readonly address: string;
  /** Address of node `i` (1-based): .11, .12, ... */
  nodeAddress(i: number): string;
  /** What node.ts needs for node `i`: the host end's name and the node's address with prefix. */
  attachment(i: number): NodeNetwork;
  remove(): void;
}

export interface NodeNetwork {
  readonly bridge: string;
  /** The veth end that stays here, on the bridge. */
  readonly hostInterface: string;
  /** The node's `eth0` address, CIDR (`10.217.5.11/24`). */
  readonly address: string;
}

export function createBridge(): TestBridge {
  removeStale();
  const name = `${bridgePrefix}${String(process.pid)}`;
  const x = freeSubnet();
  const address = `10.217.${String(x)}.1`;
  ip(["link", "add", name, "type", "bridge"]);
  try {
    // No IPv6 link-local address: the bridge has its /24 and nothing else.
    ip(["link", "set", "dev", name, "addrgenmode", "none"]);
    ip(["addr", "add", `${address}/24`, "dev", name]);
    ip(["link", "set", "dev", name, "up"]);
  } catch (err) {
    ip(["link", "del", name]);
    throw err;
  }
  const nodeAddress = (i: number): string => `10.217.${String(x)}.${String(10 + i)}`;
  return {
    name,
    address,
    nodeAddress,
    attachment: (i) => ({
      bridge: name,
      hostInterface: `${vethPrefix}${String(process.pid)}n${String(i)}`,
      address: `${nodeAddress(i)}/24`,
    }),
    remove(): void {
      const mine = new RegExp(`^(${name}|${vethPrefix}${String(process.pid)}n\\d+)$`);
      for (const link of linkNames().filter((n) => mine.test(n))) {
        try {
          ip(["link", "del", link]);
        } catch {
          // gone with its peer's namespace
        }
      }
    },
  };
}

/**
 * Links a node's network namespace (that of `pid`) to the bridge: a veth pair created with its
 * far end already inside as `eth0`. The node's init configures `lo` and `eth0` itself.
 */
export function attachNode(net: NodeNetwork, pid: number): void {
  ip([
    "link",
    "add",
    net.hostInterface,
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "netns",
    String(pid),
  ]);
  ip(["link", "set", "dev", net.hostInterface, "addrgenmode", "none"]);
  ip(["link", "set", "dev", net.hostInterface, "master", net.bridge, "up"]);
}

/** Removes a node's host-side veth (its peer goes with it); quiet when already gone. */
export function detachNode(net: NodeNetwork): void {
  try {
    ip(["link", "del", net.hostInterface]);
  } catch {
    // the node's namespace ended first and took the pair with it
  }
}
