import Handlebars from "handlebars";
import { stringify } from "yaml";
import type { KubeletVersion } from "./kubelet-version.ts";
import { problem, type Result } from "./problems.ts";
import { settingsKeys, type Matching, type Settings } from "./configmap.ts";
import { isCovered } from "./envelope.ts";
import { nodecredPaths } from "./flavour.ts";
import { kubeletSpec } from "./kubelet-config.ts";
import { parseStrictYaml } from "./strict-yaml.ts";
import {
  checkCredentialProviderConfig,
  type CredentialProvider,
  type CredentialProviderConfig,
} from "./validate-config.ts";

/**
 * Renders the CredentialProviderConfig from a handlebars template, parses the result back
 * and validates it exactly as the kubelet will. Handlebars runs with `noEscape` (this is YAML,
 * not HTML) and `strict` (a misspelt variable is an error, not an empty string). Values are
 * best inserted with the `json` helper, which emits a JSON string: always a valid YAML scalar.
 */

/** What a template can use. Documented in installer/README.md. */
export interface TemplateContext {
  readonly providerName: string;
  /** The patterns the kubelet registers: the envelope (`live`) or matchImages (`kubelet`). */
  readonly matchImages: readonly string[];
  readonly matching: Matching;
  readonly defaultCacheDuration: string;
  /** Host path of the policy file the provider reads (`--policy=`). */
  readonly policyFile: string;
  /** Host path of the bin dir the kubelet looks in (informational). */
  readonly binDir: string;
  readonly flavour: string;
}

/** Where the node keeps the provider (the only node facts a template sees). */
export interface TemplateNode {
  readonly binDir: string;
  readonly flavour: string;
}

export function templateContext(settings: Settings, node: TemplateNode): TemplateContext {
  return {
    providerName: settings.providerName,
    matchImages: kubeletSpec(settings).registered,
    matching: settings.matching,
    defaultCacheDuration: settings.defaultCacheDuration,
    policyFile: nodecredPaths.policyFile,
    binDir: node.binDir,
    flavour: node.flavour,
  };
}

export const defaultTemplate = `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: {{json providerName}}
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages:
{{#each matchImages}}
      - {{json this}}
{{/each}}
    defaultCacheDuration: {{json defaultCacheDuration}}
    args:
      - {{json (concat "--policy=" policyFile)}}
      - {{json (concat "--cache-duration=" defaultCacheDuration)}}
`;

function engine(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper("json", (v: unknown) => JSON.stringify(v));
  hb.registerHelper("concat", (...args: unknown[]) =>
    args
      .slice(0, -1) // the last argument is handlebars' options object
      .map((a) => String(a))
      .join(""),
  );
  return hb;
}

/**
 * `strict` only covers a name used on its own (`{{x}}`): as a helper's argument
 * (`{{json (concat "--a=" x)}}`, the built-in template's own form) an unknown name is undefined,
 * rendered as "undefined" or "". Reading the context through this proxy makes it an error there too.
 */
function strictContext(context: TemplateContext): TemplateContext {
  return new Proxy(context, {
    get(target, name, receiver): unknown {
      if (typeof name === "string" && name !== "toJSON" && !(name in target)) {
        throw new Error(`${JSON.stringify(name)} not defined in the template context`);
      }
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
}

export function renderTemplate(template: string, context: TemplateContext): Result<string> {
  const path = `data.${settingsKeys.template}`;
  try {
    const compiled = engine().compile(template, { noEscape: true, strict: true });
    return { ok: true, value: compiled(strictContext(context)) };
  } catch (e) {
    const message = (e as Error).message;
    // nodecred 0.1 templates named the credentials file; the provider now reads one policy file.
    const hint = message.includes('"credentialsFile" not defined')
      ? " (credentialsFile is gone: the provider reads the policy file, pass --policy= plus policyFile)"
      : "";
    return { ok: false, problems: [problem(path, `template: ${message}${hint}`)] };
  }
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
  const ta = p.tokenAttributes;
  if (ta !== null) {
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
    out["tokenAttributes"] = sortKeys(t);
  }
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

export interface RenderedConfig {
  readonly config: CredentialProviderConfig;
  /** Canonical YAML of `config`, the bytes written when the config file is ours. */
  readonly text: string;
}

/** Template → text → parsed → validated → canonical text. */
export function renderCredentialProviderConfig(
  settings: Settings,
  node: TemplateNode,
  kubeletVersion: KubeletVersion | undefined,
): Result<RenderedConfig> {
  const rendered = renderTemplate(
    settings.template ?? defaultTemplate,
    templateContext(settings, node),
  );
  if (!rendered.ok) return rendered;
  const where = "rendered CredentialProviderConfig";
  const parsed = parseStrictYaml(rendered.value, where);
  if (!parsed.ok) return parsed;
  const checked = checkCredentialProviderConfig(
    parsed.value,
    kubeletVersion === undefined ? {} : { kubeletVersion },
  );
  if (checked.config === null) {
    return {
      ok: false,
      problems: checked.problems.map((p) => ({ ...p, path: `${where}: ${p.path}` })),
    };
  }
  const config = checked.config;
  const provider = config.providers[0];
  // Our bin dir holds exactly one binary, named after the provider: any other entry would
  // name a binary the kubelet cannot find, and it refuses to start.
  if (config.providers.length !== 1 || provider?.name !== settings.providerName) {
    return {
      ok: false,
      problems: [
        problem(
          `${where}: providers`,
          `must contain exactly one provider, named ${JSON.stringify(settings.providerName)} (data.${settingsKeys.providerName}); found ${JSON.stringify(config.providers.map((p) => p.name))}`,
        ),
      ],
    };
  }
  // The kubelet only asks nodecred about images its own patterns match: a template that registers
  // less than matchImages would silently leave some of them without credentials.
  const uncovered = settings.matchImages.flatMap((m, i) =>
    isCovered(m, provider.matchImages)
      ? []
      : [
          problem(
            `data.${settingsKeys.matchImages}[${String(i)}]`,
            `${JSON.stringify(m)} is not covered by the rendered provider's matchImages, so the kubelet would never ask nodecred about these images`,
          ),
        ],
  );
  if (uncovered.length > 0) return { ok: false, problems: uncovered };
  return { ok: true, value: { config, text: serializeConfig(config) } };
}
