import { nodecredPaths } from "../core/node/flavour.ts";
import { parseState, serializeState, type NodeState } from "../core/node/state.ts";
import { InstallerError } from "../errors.ts";
import { readCurrentFile, writeFileAtomic } from "./atomic-write.ts";
import type { HostPaths } from "./host-paths.ts";

/**
 * The state file, read and written through the atomic writer like any host file. Only its
 * absence means "nothing owned": a state file that cannot be read or is not one we wrote stops
 * the command, since guessing would either refuse the node's own files as foreign or make an
 * uninstall that leaves our flags behind and reports success.
 */
export async function loadState(paths: HostPaths): Promise<NodeState | null> {
  const file = await readCurrentFile(paths.resolve(nodecredPaths.stateFile));
  if (file === null) return null;
  const parsed = parseState(file.bytes);
  if (!parsed.ok) {
    throw new InstallerError(
      "HOST_IO",
      `${nodecredPaths.stateFile} is not a nodecred state file this version can read (${parsed.reason}); nothing changed. It records what nodecred changed on this node: restore it, or move it away only if you have undone those changes yourself`,
    );
  }
  return parsed.value;
}

export async function saveState(paths: HostPaths, state: NodeState): Promise<void> {
  await writeFileAtomic(paths.resolve(nodecredPaths.stateFile), serializeState(state), 0o600);
}
