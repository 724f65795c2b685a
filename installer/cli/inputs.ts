import {
  configMapLimits,
  parseSettings,
  settingsFromConfigMapText,
  type Settings,
} from "../core/settings/configmap.ts";
import { problem, type Problem, type Result } from "../core/problems.ts";
import type { Credential } from "../../provider/core/keyring.ts";
import { decodeUtf8 } from "../../provider/core/utf8.ts";
import {
  credentialsFromDockerConfigJson,
  credentialsFromSecretText,
  dockerConfigJsonKey,
  dockerConfigJsonPath,
  dockerConfigJsonType,
  maxSecretBytes,
  secretTooLarge,
} from "../core/settings/secret.ts";
import { InstallerError } from "../errors.ts";
import type { InputSource } from "./config.ts";
import { InputTooLarge, readInputFile, readVolume, type ReadLimit } from "./read-input.ts";

/**
 * The ConfigMap and Secret, from a manifest file (local mode) or from the volumes the kubelet
 * mounts into the apply init container (one file per key; entries starting with ".." are the
 * kubelet's atomic-update machinery, not keys). Files are bytes: decoded as strict UTF-8 (never
 * repaired, a byte-order mark kept for the parser to judge), read only when regular files and
 * within the API server's bounds (read-input.ts).
 */

const objectData: ReadLimit = {
  bytes: configMapLimits.dataBytes,
  why: "the API server accepts at most 1 MiB (1048576 bytes) of data in a ConfigMap or Secret",
};

const manifest: ReadLimit = {
  bytes: configMapLimits.manifestBytes,
  why: "a manifest of a ConfigMap or Secret within the API server's 1 MiB of data fits in that even with every byte escaped",
};

async function readManifest(path: string, what: string): Promise<string> {
  const text = decodeUtf8(await readInputFile(path, what, manifest));
  if (text === undefined) {
    throw new InstallerError("INVALID_INPUT", `${what} ${path} is not valid UTF-8`);
  }
  return text;
}

export async function readConfigMap(source: InputSource): Promise<Result<Settings>> {
  if (source.kind === "file") {
    return settingsFromConfigMapText(await readManifest(source.path, "ConfigMap"));
  }
  const files = await readVolume(source.path, "ConfigMap", objectData);
  const data: Record<string, string> = {};
  const problems: Problem[] = [];
  for (const [name, bytes] of files) {
    // A ConfigMap's `data` values are strings; the kubelet writes their UTF-8 bytes.
    const text = decodeUtf8(bytes);
    if (text === undefined) {
      problems.push(
        problem(`data.${name}`, `not valid UTF-8 (the volume's file ${source.path}/${name})`),
      );
    } else data[name] = text;
  }
  return problems.length > 0 ? { ok: false, problems } : parseSettings(data);
}

export async function readSecret(source: InputSource): Promise<Result<readonly Credential[]>> {
  if (source.kind === "file") {
    return credentialsFromSecretText(await readManifest(source.path, "Secret"));
  }
  let bytes: Uint8Array | undefined;
  try {
    const limit = { bytes: maxSecretBytes, why: objectData.why };
    bytes = (await readVolume(source.path, "Secret", limit, [dockerConfigJsonKey])).get(
      dockerConfigJsonKey,
    );
  } catch (e) {
    // Too large is the same problem as for the object from the API (the sync container's route).
    if (!(e instanceof InputTooLarge)) throw e;
    return {
      ok: false,
      problems: [problem(dockerConfigJsonPath.data, secretTooLarge(e.size))],
    };
  }
  if (bytes === undefined) {
    throw new InstallerError(
      "INVALID_INPUT",
      `Secret volume ${source.path} has no ${dockerConfigJsonKey} key (the Secret must be of type ${dockerConfigJsonType})`,
    );
  }
  // A mounted Secret is its decoded data: the same bytes, the same rules as the object's.
  return credentialsFromDockerConfigJson(bytes, dockerConfigJsonPath.data);
}
