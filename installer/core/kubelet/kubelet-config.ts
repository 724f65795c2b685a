import { isRefusal, layoutFor, type Layout } from "../node/flavour.ts";
import { atLeast, type KubeletVersion } from "./kubelet-version.ts";
import { boundProblems, index, preview, problem, type Problem, type Result } from "../problems.ts";
import { configMapLimits, settingsKeys, type Settings } from "../settings/configmap.ts";
import { parseStrictYaml } from "../strict-yaml.ts";
import { coveredBy } from "./envelope.ts";
import { kubeletSpec, kubeletSpecHash, type KubeletSpec } from "./kubelet-spec.ts";
import { providerEntryProblems, serializeConfig } from "./provider-entry.ts";
import { defaultTemplate, renderTemplate, templateContext, type TemplateNode } from "./template.ts";
import {
  checkCredentialProviderConfig,
  decodeCredentialProviderConfig,
  tokenAttributesMinor,
  validateCredentialProviderConfig,
  type CredentialProviderConfig,
} from "./validate-config.ts";

/**
 * What the kubelet reads, through one pipeline on every route — a node's apply, the sync
 * container's check of a ConfigMap before it goes live or rolls out, a dry run:
 *
 *   settings → what the kubelet registers (kubeletSpec, and its hash) → the template's context,
 *   built once → rendered text → parsed strictly, as the kubelet's go-yaml reads it → decoded and
 *   validated as the kubelet validates it (for this node's kubelet version) → nodecred's own
 *   checks (one provider named providerName, covering every matchImages entry, whose args our
 *   provider accepts) → the canonical text, which is what is written when the file is ours.
 *
 * When nodecred merges into a node's own config instead (kubelet/merge-config.ts), the bytes
 * that will be written are read back and validated the same way (`checkWrittenConfig`).
 */

/**
 * The kubelet a config is for: a node's, by its version (undefined: not known on that node,
 * version rules are skipped but scoped credentials refused), or `any`, the cluster side's check of
 * a ConfigMap (each node checks it again against its own kubelet before writing anything).
 */
export type KubeletTarget = KubeletVersion | undefined | "any";

/** The node facts a template sees, from the node's layout: the one way they are made. */
export function templateNodeOf(layout: Pick<Layout, "binDir" | "flavour">): TemplateNode {
  return { binDir: layout.binDir, flavour: layout.flavour };
}

/**
 * The node the cluster side renders a ConfigMap's template for, before any node applies it: a
 * kubeadm node, where nodecred owns its config and bin dir. The built-in template renders the
 * same on every node; a template that reads `flavour` or `binDir` and fails only elsewhere is
 * refused by that node's apply (exit 3), and the rollout stops there (rollout/README.md).
 */
export const referenceNode: TemplateNode = ((): TemplateNode => {
  const layout = layoutFor("kubeadm-rpm");
  if (isRefusal(layout)) throw new Error("the kubeadm-rpm flavour has no layout");
  return templateNodeOf(layout);
})();

/**
 * Scoped credentials on this kubelet: they need it to send service account tokens to credential
 * providers (tokenAttributes, on by default from v1.34); an older one refuses the config and exits.
 */
export function scopedVersionProblem(kubelet: KubeletTarget): Problem | null {
  if (kubelet === "any") return null;
  if (kubelet !== undefined && atLeast(kubelet, 1, tokenAttributesMinor)) return null;
  const node =
    kubelet === undefined
      ? "this node's kubelet version is not known (pass --kubelet-version, or let apply run `kubelet --version`)"
      : `this node's kubelet is ${kubelet.text}`;
  return problem(
    `data.${settingsKeys.credentialSets}`,
    `scoped credentials need a kubelet that sends service account tokens to credential providers (tokenAttributes, feature gate KubeletServiceAccountTokenForCredentialProviders, on by default from v1.${String(tokenAttributesMinor)}); ${node}: upgrade it, or remove credentialSets`,
  );
}

/** The CredentialProviderConfig nodecred stands for on a node, and what of it the kubelet reads. */
export interface KubeletConfig {
  /** What the kubelet reads (the DaemonSet template carries its hash). */
  readonly spec: KubeletSpec;
  readonly hash: string;
  /** The decoded, validated config: exactly one provider, ours. */
  readonly config: CredentialProviderConfig;
  /** Canonical YAML of `config`, the bytes written when the config file is ours. */
  readonly text: string;
}

const where = "rendered CredentialProviderConfig";

function within(problems: readonly Problem[]): Problem[] {
  return problems.map((p) => ({ ...p, path: `${where}: ${p.path}` }));
}

/** The whole pipeline (this file's header), with every problem it finds, bounded. */
export function kubeletConfigFor(
  settings: Settings,
  node: TemplateNode,
  kubelet: KubeletTarget,
): Result<KubeletConfig> {
  const r = pipeline(settings, node, kubelet);
  return r.ok ? r : { ok: false, problems: boundProblems(r.problems) };
}

function pipeline(
  settings: Settings,
  node: TemplateNode,
  kubelet: KubeletTarget,
): Result<KubeletConfig> {
  if (settings.credentialSets !== null) {
    const tooOld = scopedVersionProblem(kubelet);
    if (tooOld !== null) return { ok: false, problems: [tooOld] };
  }
  const spec = kubeletSpec(settings);
  const rendered = renderTemplate(
    settings.template ?? defaultTemplate,
    templateContext(settings, spec, node),
  );
  if (!rendered.ok) return rendered;
  const decoded = decodeRendered(rendered.value, kubelet === "any" ? undefined : kubelet);
  if (!decoded.ok) return decoded;
  const config = decoded.value;
  const problems = ourEntryProblems(settings, config);
  if (problems.length > 0) return { ok: false, problems };
  // The text is made when asked for: the sync container only checks, and for 1,000 patterns
  // serializing costs about as much as validating.
  let text: string | null = null;
  return {
    ok: true,
    value: {
      spec,
      hash: kubeletSpecHash(spec),
      config,
      get text(): string {
        text ??= serializeConfig(config);
        return text;
      },
    },
  };
}

/** The rendered text read as the kubelet reads it: parsed, decoded, validated. */
function decodeRendered(
  text: string,
  kubeletVersion: KubeletVersion | undefined,
): Result<CredentialProviderConfig> {
  const parsed = parseStrictYaml(text, where);
  if (!parsed.ok) return parsed;
  const decoded = decodeCredentialProviderConfig(parsed.value);
  if (decoded.config === null) return { ok: false, problems: within(decoded.problems) };
  // Before the per-pattern checks: their cost grows with the list (the kubelet has no bound).
  const tooMany = decoded.config.providers.flatMap((p, i) =>
    p.matchImages.length > configMapLimits.matchImages
      ? [
          problem(
            `${index("providers", i)}.matchImages`,
            `${String(p.matchImages.length)} patterns; nodecred registers at most ${String(configMapLimits.matchImages)}`,
          ),
        ]
      : [],
  );
  if (tooMany.length > 0) return { ok: false, problems: within(tooMany) };
  const invalid = [
    ...decoded.problems,
    ...validateCredentialProviderConfig(
      decoded.config,
      kubeletVersion === undefined ? {} : { kubeletVersion },
    ),
  ];
  if (invalid.length > 0) return { ok: false, problems: within(invalid) };
  return { ok: true, value: decoded.config };
}

/**
 * What nodecred needs of the config beyond the kubelet's rules: exactly one provider, ours (our
 * bin dir holds exactly one binary, named after it: any other entry would name a binary the
 * kubelet cannot find, and it refuses to start); patterns that cover every matchImages entry (the
 * kubelet only asks nodecred about images its own patterns match); an entry our provider works
 * with (provider-entry.ts).
 */
function ourEntryProblems(settings: Settings, config: CredentialProviderConfig): Problem[] {
  const provider = config.providers[0];
  if (config.providers.length !== 1 || provider?.name !== settings.providerName) {
    const names = config.providers.slice(0, 5).map((p) => preview(p.name));
    return within([
      problem(
        "providers",
        `must contain exactly one provider, named ${JSON.stringify(settings.providerName)} (data.${settingsKeys.providerName}); found ${String(config.providers.length)}: [${names.join(", ")}${config.providers.length > 5 ? ", …" : ""}]`,
      ),
    ]);
  }
  const covered = coveredBy(provider.matchImages);
  const uncovered = settings.matchImages.flatMap((m, i) =>
    covered(m)
      ? []
      : [
          problem(
            `data.${settingsKeys.matchImages}[${String(i)}]`,
            `${preview(m, 200)} is not covered by the rendered provider's matchImages, so the kubelet would never ask nodecred about these images`,
          ),
        ],
  );
  if (uncovered.length > 0) return uncovered;
  return within(
    providerEntryProblems(
      provider,
      "providers[0]",
      settings.matching,
      settings.credentialSets !== null,
    ),
  );
}

/**
 * A config nodecred is about to write into someone else's file (a merge), read back from those
 * bytes and checked as the kubelet will check it at start: every problem, under `path`.
 */
export function checkWrittenConfig(
  text: string,
  path: string,
  kubeletVersion: KubeletVersion | undefined,
): Problem[] {
  const parsed = parseStrictYaml(text, path);
  if (!parsed.ok) return [...parsed.problems];
  const checked = checkCredentialProviderConfig(
    parsed.value,
    kubeletVersion === undefined ? {} : { kubeletVersion },
  );
  return checked.problems.map((p) => ({ ...p, path: `${path}: ${p.path}` }));
}
