/**
 * A container's command from manifests/daemonset.yaml, as this repository runs it outside the
 * image: `node` is the project's Node (the one the image ships) and every /opt/nodecred path is
 * the build output the Dockerfile copies there (its `COPY --from=build /src/SOURCE DEST` lines).
 * Benchmarks start the sync container with it, so they measure the flags the manifest ships.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

export interface LocalCommand {
  /** The Node executable and every argument after it (flags, the bundle, the command). */
  readonly node: string;
  readonly args: readonly string[];
}

/** Image destination → repo-relative source, from the Dockerfile's final stage. */
export function imageSources(repo: string): Map<string, string> {
  const dockerfile = readFileSync(join(repo, "Dockerfile"), "utf8");
  return new Map(
    [...dockerfile.matchAll(/^COPY --from=build \/src\/(\S+) (\S+)$/gm)].map((m) => [
      m[2] ?? "",
      m[1] ?? "",
    ]),
  );
}

interface Container {
  name: string;
  command: string[];
}

export function manifestContainer(repo: string, name: string): Container {
  const ds = parseAllDocuments(
    readFileSync(join(repo, "manifests/daemonset.yaml"), "utf8"),
  )[0]?.toJS() as {
    spec: { template: { spec: { initContainers: Container[]; containers: Container[] } } };
  };
  const pod = ds.spec.template.spec;
  const c = [...pod.initContainers, ...pod.containers].find((x) => x.name === name);
  if (c === undefined) throw new Error(`no container ${name} in manifests/daemonset.yaml`);
  return c;
}

/**
 * The container's command up to and including its subcommand (`run`, `apply`), mapped to this
 * repository; the manifest's own flags after it (host paths of a real node) are left out, the
 * caller passes its own.
 */
export function localCommand(
  repo: string,
  container: string,
  node = process.execPath,
): LocalCommand {
  const { command } = manifestContainer(repo, container);
  if (command[0] !== "node") throw new Error(`${container}: the command does not start with node`);
  const sources = imageSources(repo);
  const script = command.findIndex((a) => a.startsWith("/opt/nodecred/"));
  const source = sources.get(command[script] ?? "");
  if (script < 0 || source === undefined) {
    throw new Error(`${container}: no /opt/nodecred file of the Dockerfile in its command`);
  }
  return {
    node,
    args: [...command.slice(1, script), join(repo, source), command[script + 1] ?? ""],
  };
}
