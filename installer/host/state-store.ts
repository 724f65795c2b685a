import { readFile } from "node:fs/promises";
import { nodecredPaths } from "../core/flavour.ts";
import { parseState, serializeState, type NodeState } from "../core/state.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import type { HostPaths } from "./host-paths.ts";

/** The state file, read and written through the atomic writer like any host file. */
export async function loadState(paths: HostPaths): Promise<NodeState | null> {
  let text: string;
  try {
    text = await readFile(paths.resolve(nodecredPaths.stateFile), "utf8");
  } catch {
    return null;
  }
  return parseState(text);
}

export async function saveState(paths: HostPaths, state: NodeState): Promise<void> {
  await writeFileAtomic(paths.resolve(nodecredPaths.stateFile), serializeState(state), 0o600);
}
