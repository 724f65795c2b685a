import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseSettings, settingsFromConfigMapText, type Settings } from "../core/configmap.ts";
import type { Result } from "../core/problems.ts";
import type { Credential } from "../../provider/core/keyring.ts";
import {
  credentialsFromSecret,
  credentialsFromSecretText,
  dockerConfigJsonKey,
  dockerConfigJsonType,
} from "../core/secret.ts";
import { InstallerError } from "../errors.ts";
import type { InputSource } from "./config.ts";

/**
 * The ConfigMap and Secret, from a manifest file (local mode) or from the volumes the kubelet
 * mounts into the apply init container (one file per key; entries starting with ".." are the
 * kubelet's atomic-update machinery, not keys).
 */

const decoder = new TextDecoder();

async function readText(path: string, what: string): Promise<string> {
  try {
    return decoder.decode(await readFile(path));
  } catch (e) {
    throw new InstallerError("INVALID_INPUT", `cannot read ${what} ${path}`, { cause: e });
  }
}

export async function readConfigMap(source: InputSource): Promise<Result<Settings>> {
  if (source.kind === "file") {
    return settingsFromConfigMapText(await readText(source.path, "ConfigMap"));
  }
  let names: string[];
  try {
    names = (await readdir(source.path)).filter((n) => !n.startsWith(".."));
  } catch (e) {
    throw new InstallerError("INVALID_INPUT", `cannot read ConfigMap volume ${source.path}`, {
      cause: e,
    });
  }
  const data: Record<string, string> = {};
  for (const name of names.sort()) {
    data[name] = await readText(join(source.path, name), "ConfigMap key");
  }
  return parseSettings(data);
}

export async function readSecret(source: InputSource): Promise<Result<readonly Credential[]>> {
  if (source.kind === "file") {
    return credentialsFromSecretText(await readText(source.path, "Secret"));
  }
  const file = join(source.path, dockerConfigJsonKey);
  let text: string;
  try {
    text = decoder.decode(await readFile(file));
  } catch (e) {
    throw new InstallerError(
      "INVALID_INPUT",
      `Secret volume ${source.path} has no ${dockerConfigJsonKey} key (the Secret must be of type ${dockerConfigJsonType})`,
      { cause: e },
    );
  }
  // A mounted Secret is its decoded data: the same checks as for the object, type known.
  return credentialsFromSecret({
    kind: "Secret",
    type: dockerConfigJsonType,
    stringData: { [dockerConfigJsonKey]: text },
  });
}
