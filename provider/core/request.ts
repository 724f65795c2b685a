// CredentialProviderRequest as the kubelet sends it on stdin
// (k8s.io/kubelet/pkg/apis/credentialprovider/{v1,v1beta1,v1alpha1}/types.go).

import { isRecord, parseJsonObject } from "./json-fields.ts";

export const API_GROUP = "credentialprovider.kubelet.k8s.io";

export const API_VERSIONS = [
  `${API_GROUP}/v1`,
  `${API_GROUP}/v1beta1`,
  `${API_GROUP}/v1alpha1`,
] as const;

export type ApiVersion = (typeof API_VERSIONS)[number];

export interface CredentialProviderRequest {
  readonly apiVersion: ApiVersion;
  /** The image without tag or digest, e.g. "docker.io/library/nginx" or "reg:5000/a/b". */
  readonly image: string;
  /** KEP-4412: sent only when the provider is configured with tokenAttributes (v1 only). */
  readonly serviceAccountToken?: string;
  readonly serviceAccountAnnotations?: Readonly<Record<string, string>>;
}

export type RequestResult =
  | { readonly ok: true; readonly request: CredentialProviderRequest }
  | { readonly ok: false; readonly reason: string };

function isApiVersion(v: unknown): v is ApiVersion {
  return API_VERSIONS.some((a) => a === v);
}

/** Quotes an untrusted value for a one-line message, cut short. */
function quote(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

/**
 * Parses the request. Unknown fields are ignored so that a newer kubelet does not break us; the
 * fields we know must have the documented types. The service account token is never echoed.
 */
export function parseRequest(text: string): RequestResult {
  const parsed = parseJsonObject(
    text,
    "request is not valid JSON",
    "request must be a JSON object",
  );
  if (!parsed.ok) return { ok: false, reason: parsed.problem };
  const { doc } = parsed;
  const { kind, apiVersion, image, serviceAccountToken, serviceAccountAnnotations } = doc;
  if (kind !== "CredentialProviderRequest") {
    return {
      ok: false,
      reason:
        kind === undefined
          ? 'request has no kind (want "CredentialProviderRequest")'
          : `request kind is ${quote(kind)}, want "CredentialProviderRequest"`,
    };
  }
  if (!isApiVersion(apiVersion)) {
    return {
      ok: false,
      reason: `request apiVersion ${apiVersion === undefined ? "is missing" : `${quote(apiVersion)} is not supported`} (want one of ${API_VERSIONS.join(", ")})`,
    };
  }
  if (typeof image !== "string" || image === "") {
    return { ok: false, reason: "request image must be a non-empty string" };
  }
  let request: CredentialProviderRequest = { apiVersion, image };
  if (serviceAccountToken !== undefined && serviceAccountToken !== null) {
    if (typeof serviceAccountToken !== "string") {
      return { ok: false, reason: "request serviceAccountToken must be a string" };
    }
    request = { ...request, serviceAccountToken };
  }
  if (serviceAccountAnnotations !== undefined && serviceAccountAnnotations !== null) {
    if (
      !isRecord(serviceAccountAnnotations) ||
      !Object.values(serviceAccountAnnotations).every((v) => typeof v === "string")
    ) {
      return { ok: false, reason: "request serviceAccountAnnotations must map strings to strings" };
    }
    request = {
      ...request,
      serviceAccountAnnotations: serviceAccountAnnotations as Record<string, string>,
    };
  }
  return { ok: true, request };
}
