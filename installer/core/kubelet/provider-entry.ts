import { stringify } from "yaml";
import { parseArgs as parseProviderArgs } from "../../../provider/core/cli.ts";
import { nodecredPaths } from "../node/flavour.ts";
import { index, preview, problem, type Problem } from "../problems.ts";
import { settingsKeys, type Matching } from "../settings/configmap.ts";
import { scopedTokenAttributes } from "./template.ts";
import type {
  CredentialProvider,
  CredentialProviderConfig,
  ExecEnvVar,
  TokenAttributes,
} from "./validate-config.ts";

/**
 * nodecred's entry in a CredentialProviderConfig: its canonical form (the kubelet's own JSON
 * encoding: omitempty, sorted keys; byte-stable YAML), and the checks that it works for our
 * provider once the kubelet runs it, beyond what the kubelet itself checks.
 */

/** tokenAttributes as the kubelet's JSON encoding would write them (omitempty, sorted keys). */
function tokenAttributesToPlain(ta: TokenAttributes): Record<string, unknown> {
  const t: Record<string, unknown> = {
    cacheType: ta.cacheType,
    requireServiceAccount: ta.requireServiceAccount,
    serviceAccountTokenAudience: ta.serviceAccountTokenAudience,
  };
  if (ta.optionalServiceAccountAnnotationKeys.length > 0) {
    t["optionalServiceAccountAnnotationKeys"] = [...ta.optionalServiceAccountAnnotationKeys];
  }
  if (ta.requiredServiceAccountAnnotationKeys.length > 0) {
    t["requiredServiceAccountAnnotationKeys"] = [...ta.requiredServiceAccountAnnotationKeys];
  }
  return sortKeys(t);
}

/** The provider entry as the kubelet's JSON encoding would write it (omitempty, sorted keys). */
export function providerToPlain(p: CredentialProvider): Record<string, unknown> {
  const out: Record<string, unknown> = {
    apiVersion: p.apiVersion,
    defaultCacheDuration: p.defaultCacheDuration,
    matchImages: [...p.matchImages],
    name: p.name,
  };
  if (p.args.length > 0) out["args"] = [...p.args];
  if (p.env.length > 0) out["env"] = p.env.map((e) => ({ name: e.name, value: e.value }));
  if (p.tokenAttributes !== null)
    out["tokenAttributes"] = tokenAttributesToPlain(p.tokenAttributes);
  return sortKeys(out);
}

function sortKeys(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Fixed serializer options: byte-stable output, YAML 1.1 quoting so go-yaml reads it back. */
export function stableYaml(value: unknown): string {
  return stringify(value, {
    version: "1.1",
    sortMapEntries: true,
    lineWidth: 0,
    indent: 2,
    indentSeq: true,
  });
}

export function serializeConfig(config: CredentialProviderConfig): string {
  return stableYaml({
    apiVersion: config.apiVersion,
    kind: config.kind,
    providers: config.providers.map(providerToPlain),
  });
}

/** Why an env entry of our provider looks like a secret, or null. Never quotes the value. */
export function secretLikeEnv(env: ExecEnvVar): string | null {
  const words = env.name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter((w) => w !== "");
  const secretWords = [
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "CREDENTIAL",
    "CREDS",
  ];
  const word = words.find(
    (w) =>
      secretWords.some((s) => w.includes(s)) ||
      /KEYS?$/.test(w) ||
      ["PASS", "PW", "PWD", "AUTH", "AUTHORIZATION", "BEARER", "PRIVATE", "COOKIE"].includes(w),
  );
  if (word !== undefined && !(word === "PWD" && words.length === 1)) {
    return `its name says ${word}`;
  }
  const v = env.value.trim();
  if (v.includes("-----BEGIN")) return "its value holds a PEM block";
  if (/^eyJ[\w-]+\.[\w-]+\./.test(v)) return "its value is a JSON Web Token";
  if (/^(basic|bearer|token)\s+\S/i.test(v)) return "its value is an Authorization header";
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(v))
    return "its value is a URL with a password";
  if (/\b(AKIA|ASIA)[0-9A-Z]{16}\b/.test(v)) return "its value holds an AWS access key ID";
  // user:password, but not host:port, a URL or a path list.
  if (/^[^\s:/@]+:[^\s]+$/.test(v) && !/^[^:]+:\d+$/.test(v) && !v.includes("/")) {
    return "its value looks like user:password";
  }
  const hexRun = /[0-9a-f]{32,}/i.test(v);
  const b64Run = (v.match(/[A-Za-z0-9+/_-]{32,}={0,2}/g) ?? []).some(
    (r) => /[a-z]/.test(r) && /[A-Z]/.test(r) && /[0-9]/.test(r),
  );
  if (hexRun || b64Run) return "its value holds a long random-looking string (a key or a token?)";
  return null;
}

/**
 * Our provider entry checked as the provider itself will see it when the kubelet runs it: its
 * args through the provider's own parser (a config whose args it refuses fails every pull), the
 * policy file it must read in `matching: live` (nodecred keeps only that one current), no
 * secrets in env (the config is world-readable on the node, mode 0644; the provider reads none),
 * and tokenAttributes exactly when the credentials are scoped.
 */
export function providerEntryProblems(
  provider: CredentialProvider,
  at: string,
  matching: Matching,
  scoped: boolean,
): Problem[] {
  const out: Problem[] = [];
  const taAt = `${at}.tokenAttributes`;
  const got = provider.tokenAttributes;
  if (scoped) {
    const want = scopedTokenAttributes();
    const wantText = JSON.stringify(
      tokenAttributesToPlain({ ...want, requiredServiceAccountAnnotationKeys: [] }),
    );
    if (got === null || JSON.stringify(tokenAttributesToPlain(got)) !== wantText) {
      out.push(
        problem(
          taAt,
          `with data.${settingsKeys.credentialSets} the entry must carry exactly tokenAttributes ${wantText} (a template renders it with {{json tokenAttributes}}); ${got === null ? "it has none, so the kubelet would send no service account token and every pod would get only the sets open to every namespace" : "these differ, and the provider could not tell the namespaces apart"}`,
        ),
      );
    }
  } else if (got !== null) {
    out.push(
      problem(
        taAt,
        `must be absent without data.${settingsKeys.credentialSets}: the kubelet would request a service account token for every pull and nodecred would not use it (add credentialSets for scoped credentials)`,
      ),
    );
  }
  const argsPath = `${at}.args`;
  const cli = parseProviderArgs(provider.args);
  if (!cli.ok) {
    out.push(
      problem(
        argsPath,
        `nodecred's provider refuses these args, so every pull would fail: ${cli.problems.map((p) => (p.length > 200 ? `${p.slice(0, 200)}…` : p)).join("; ")}`,
      ),
    );
  } else if (cli.command.kind !== "provide") {
    out.push(
      problem(
        argsPath,
        `with these args the provider runs as --${cli.command.kind} and answers no request from the kubelet`,
      ),
    );
  } else {
    // Both modes: the policy file is the one file nodecred writes and keeps current.
    const source = cli.command.source;
    if (source.kind !== "policy" || source.path !== nodecredPaths.policyFile) {
      out.push(
        problem(
          argsPath,
          `with matching: ${matching} the provider must read the policy file nodecred keeps current (--policy=${nodecredPaths.policyFile}, or no --policy): --${source.kind}=${preview(source.path)} would leave every image without credentials or with stale ones`,
        ),
      );
    }
  }
  provider.env.forEach((e, i) => {
    const why = secretLikeEnv(e);
    if (why !== null) {
      out.push(
        problem(
          index(`${at}.env`, i),
          `${preview(e.name, 64)} looks like a secret (${why}): the CredentialProviderConfig is world-readable on the node (mode 0644) and nodecred's provider reads no environment; credentials belong in the Secret`,
        ),
      );
    }
  });
  return out;
}
