import Handlebars from "handlebars";
import { stringify } from "yaml";
import { parseArgs as parseProviderArgs } from "../../../provider/core/cli.ts";
import { SELECT_ANNOTATION, TOKEN_AUDIENCE } from "../../../provider/core/scopes.ts";
import { atLeast, type KubeletVersion } from "./kubelet-version.ts";
import { boundProblems, index, preview, problem, type Problem, type Result } from "../problems.ts";
import {
  configMapLimits,
  settingsKeys,
  type Matching,
  type Settings,
} from "../settings/configmap.ts";
import { coveredBy } from "./envelope.ts";
import { nodecredPaths } from "../node/flavour.ts";
import { kubeletSpec } from "./kubelet-spec.ts";
import { parseStrictYaml } from "../strict-yaml.ts";
import {
  decodeCredentialProviderConfig,
  tokenAttributesMinor,
  validateCredentialProviderConfig,
  type CredentialProvider,
  type CredentialProviderConfig,
  type ExecEnvVar,
  type TokenAttributes,
} from "./validate-config.ts";

/**
 * Renders the CredentialProviderConfig from a handlebars template, parses the result back
 * and validates it exactly as the kubelet will. Handlebars runs with `noEscape` (this is YAML,
 * not HTML) and `strict` (a misspelt variable is an error, not an empty string). Values are
 * best inserted with the `json` helper, which emits a JSON string: always a valid YAML scalar.
 */

/**
 * The provider entry's tokenAttributes with credentialSets (scoped credentials): the kubelet
 * requests a token for TOKEN_AUDIENCE (never the API server's) for each pod's ServiceAccount and
 * passes SELECT_ANNOTATION along. No ServiceAccount required (a static pod has none: it gets the
 * sets open to every namespace); `ServiceAccount` caching, since the provider's answer depends on
 * the ServiceAccount's namespace and annotation, never on the token itself.
 */
export interface ScopedTokenAttributes {
  readonly serviceAccountTokenAudience: string;
  readonly cacheType: "ServiceAccount";
  readonly requireServiceAccount: false;
  readonly optionalServiceAccountAnnotationKeys: readonly string[];
}

export function scopedTokenAttributes(): ScopedTokenAttributes {
  return {
    serviceAccountTokenAudience: TOKEN_AUDIENCE,
    cacheType: "ServiceAccount",
    requireServiceAccount: false,
    optionalServiceAccountAnnotationKeys: [SELECT_ANNOTATION],
  };
}

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
  /** With credentialSets: the entry's tokenAttributes (scopedTokenAttributes); else null. */
  readonly tokenAttributes: ScopedTokenAttributes | null;
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
    tokenAttributes: settings.credentialSets === null ? null : scopedTokenAttributes(),
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
{{#if tokenAttributes}}
    tokenAttributes: {{json tokenAttributes}}
{{/if}}
`;

/**
 * Bounds on rendering, so that no template (at most configMapLimits.templateBytes) can keep the
 * event loop busy or fill memory: a loop in a loop over 1,000 patterns, or `{{json matchImages}}`
 * written thousands of times, is stopped by the work budget long before it costs much.
 */
export const renderLimits = {
  /**
   * `{{` tags in a template (an expression, a block's opening, `else` or closing tag, a comment),
   * counted before it is parsed: handlebars parses and compiles each for about 0.3 ms (see
   * scripts/bench-limits), so 256 cost well under 100 ms. The built-in template has 10.
   */
  tags: 256,
  /**
   * The rendered CredentialProviderConfig: the ConfigMap's 1 MiB listed once (matchImages in
   * `kubelet` mode) plus the template, with room for quoting.
   */
  outputChars: 1536 * 1024,
  /**
   * Work, in characters: each loop iteration costs the length of its block's source plus what
   * it produced; `json`, `concat` and a list turned into text cost what they produce. The
   * largest real render (1,000 patterns of 1 KiB each, `matching: kubelet`) costs about 2 MiB.
   */
  workChars: 4 * 1024 * 1024,
} as const;

class RenderBudgetExceeded extends Error {}

/** Work left for one render; charging past zero stops it. */
class RenderBudget {
  private left: number = renderLimits.workChars;
  charge(chars: number): void {
    this.left -= chars;
    if (this.left < 0) throw new RenderBudgetExceeded();
  }
}

interface Loc {
  readonly start: { readonly line: number; readonly column: number };
  readonly end: { readonly line: number; readonly column: number };
}

/** The length of a block's source from its handlebars location (lines 1-based, columns 0-based). */
function sourceLength(template: string): (loc: Loc | undefined) => number {
  const lineStarts = [0];
  for (let i = template.indexOf("\n"); i !== -1; i = template.indexOf("\n", i + 1)) {
    lineStarts.push(i + 1);
  }
  const offset = (p: { line: number; column: number }): number =>
    (lineStarts[p.line - 1] ?? 0) + p.column;
  return (loc) =>
    loc === undefined ? template.length : Math.max(0, offset(loc.end) - offset(loc.start));
}

/** A compiled template and the budget its helpers charge (swapped for each render). */
interface Compiled {
  readonly template: string;
  readonly run: (context: unknown) => string;
  readonly meter: { budget: RenderBudget };
}

function compile(template: string, ast: hbs.AST.Program): Compiled {
  const hb = Handlebars.create();
  const meter = { budget: new RenderBudget() };
  const produced = (s: string): string => {
    meter.budget.charge(s.length);
    return s;
  };
  hb.registerHelper("json", (v: unknown) => {
    // JSON.stringify gives undefined for these, which handlebars renders as "".
    if (v === undefined || typeof v === "function" || typeof v === "symbol") return "";
    return produced(JSON.stringify(v));
  });
  hb.registerHelper("concat", (...args: unknown[]) =>
    produced(
      args
        .slice(0, -1) // the last argument is handlebars' options object
        .map((a) => String(a))
        .join(""),
    ),
  );
  // `log` writes to the process's stdout, which carries the installer's own JSON output.
  hb.unregisterHelper("log");
  // Every loop (also `{{#list}}…{{/list}}`, which handlebars runs through `each`) pays per
  // iteration for its block's source and for what the iteration produced.
  const each = hb.helpers["each"] as Handlebars.HelperDelegate;
  const blockLength = sourceLength(template);
  hb.registerHelper("each", function (this: unknown, context: unknown, options: unknown) {
    const opts = options as Handlebars.HelperOptions & { loc?: Loc };
    const perIteration = Math.max(16, blockLength(opts.loc));
    const fn = opts.fn;
    const charged = Object.assign((ctx: unknown, o: unknown): string => {
      meter.budget.charge(perIteration);
      return produced(fn(ctx, o as Handlebars.RuntimeOptions));
    }, fn);
    return each.call(this, context, { ...opts, fn: charged }) as unknown;
  });
  const run = hb.compile(ast, { noEscape: true, strict: true });
  return { template, run: (context) => run(context), meter };
}

/** The last template compiled: the sync loop checks the same ConfigMap at every event. */
let lastCompiled: Compiled | null = null;

/**
 * Partials and decorators are refused: nodecred registers none, and an inline partial can call
 * itself (or two others, each twice, and so on) without any loop, which no budget per loop sees.
 */
function templateProblems(ast: hbs.AST.Program): string[] {
  const out: string[] = [];
  const names: Record<string, string> = {
    PartialStatement: "a partial ({{> name}})",
    PartialBlockStatement: "a partial block ({{#> name}})",
    DecoratorBlock: "an inline partial or decorator block ({{#*inline}})",
    Decorator: "a decorator ({{* name}})",
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (typeof node !== "object" || node === null) return;
    const n = node as { type?: unknown; loc?: { start?: { line?: number } } };
    const what = typeof n.type === "string" ? names[n.type] : undefined;
    if (what !== undefined) {
      out.push(`line ${String(n.loc?.start?.line ?? "?")}: ${what} is not supported`);
      return;
    }
    for (const [k, v] of Object.entries(node)) if (k !== "loc") walk(v);
  };
  walk(ast);
  return out;
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
        throw new Error(`${JSON.stringify(name.slice(0, 64))} not defined in the template context`);
      }
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
}

/** A list that, written out as text (`{{matchImages}}`), pays for the text each time. */
function chargedList(items: readonly string[], budget: RenderBudget): readonly string[] {
  const list = [...items];
  let text: string | null = null;
  Object.defineProperty(list, "toString", {
    value: (): string => {
      text ??= list.join(",");
      budget.charge(text.length);
      return text;
    },
  });
  return list;
}

export function renderTemplate(template: string, context: TemplateContext): Result<string> {
  const path = `data.${settingsKeys.template}`;
  try {
    let compiled = lastCompiled?.template === template ? lastCompiled : null;
    if (compiled === null) {
      let tags = 0;
      for (let i = template.indexOf("{{"); i !== -1; i = template.indexOf("{{", i + 2)) tags++;
      if (tags > renderLimits.tags) {
        return {
          ok: false,
          problems: [
            problem(
              path,
              `template: ${String(tags)} {{…}} tags; at most ${String(renderLimits.tags)} (the built-in template has 10)`,
            ),
          ],
        };
      }
      const ast = Handlebars.parse(template);
      const refused = templateProblems(ast);
      if (refused.length > 0) {
        return { ok: false, problems: refused.map((r) => problem(path, `template: ${r}`)) };
      }
      compiled = compile(template, ast);
      lastCompiled = compiled;
    }
    const budget = new RenderBudget();
    compiled.meter.budget = budget;
    const text = compiled.run(
      strictContext({ ...context, matchImages: chargedList(context.matchImages, budget) }),
    );
    if (text.length > renderLimits.outputChars) {
      return {
        ok: false,
        problems: [
          problem(
            path,
            `template: renders ${String(text.length)} characters; a CredentialProviderConfig nodecred writes has at most ${String(renderLimits.outputChars)}`,
          ),
        ],
      };
    }
    return { ok: true, value: text };
  } catch (e) {
    if (e instanceof RenderBudgetExceeded) {
      return {
        ok: false,
        problems: [
          problem(
            path,
            `template: rendering stopped after ${String(renderLimits.workChars)} characters of work (a loop inside a loop over matchImages, or a list written out many times?); the largest real config needs half of that`,
          ),
        ],
      };
    }
    const message =
      e instanceof RangeError ? `${e.message} (nested too deeply?)` : (e as Error).message;
    // nodecred 0.1 templates named the credentials file; the provider now reads one policy file.
    const hint = message.includes('"credentialsFile" not defined')
      ? " (credentialsFile is gone: the provider reads the policy file, pass --policy= plus policyFile)"
      : "";
    return { ok: false, problems: [problem(path, `template: ${message}${hint}`)] };
  }
}

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

export interface RenderedConfig {
  readonly config: CredentialProviderConfig;
  /** Canonical YAML of `config`, the bytes written when the config file is ours. */
  readonly text: string;
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
function providerEntryProblems(
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

/**
 * The kubelet a config is for: a node's, by its version (undefined: not known on that node,
 * version rules are skipped but scoped credentials refused), or `any`, the cluster side's check of
 * a ConfigMap (each node checks it again against its own kubelet before writing anything).
 */
export type KubeletTarget = KubeletVersion | undefined | "any";

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

/** Template → text → parsed → validated → canonical text. */
export function renderCredentialProviderConfig(
  settings: Settings,
  node: TemplateNode,
  kubelet: KubeletTarget,
): Result<RenderedConfig> {
  const r = render(settings, node, kubelet);
  return r.ok ? r : { ok: false, problems: boundProblems(r.problems) };
}

function render(
  settings: Settings,
  node: TemplateNode,
  kubelet: KubeletTarget,
): Result<RenderedConfig> {
  if (settings.credentialSets !== null) {
    const tooOld = scopedVersionProblem(kubelet);
    if (tooOld !== null) return { ok: false, problems: [tooOld] };
  }
  const kubeletVersion = kubelet === "any" ? undefined : kubelet;
  const rendered = renderTemplate(
    settings.template ?? defaultTemplate,
    templateContext(settings, node),
  );
  if (!rendered.ok) return rendered;
  const where = "rendered CredentialProviderConfig";
  const parsed = parseStrictYaml(rendered.value, where);
  if (!parsed.ok) return parsed;
  const within = (ps: readonly Problem[]): Result<RenderedConfig> => ({
    ok: false,
    problems: ps.map((p) => ({ ...p, path: `${where}: ${p.path}` })),
  });
  const decoded = decodeCredentialProviderConfig(parsed.value);
  if (decoded.config === null) return within(decoded.problems);
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
  if (tooMany.length > 0) return within(tooMany);
  const invalid = [
    ...decoded.problems,
    ...validateCredentialProviderConfig(
      decoded.config,
      kubeletVersion === undefined ? {} : { kubeletVersion },
    ),
  ];
  if (invalid.length > 0) return within(invalid);
  const config = decoded.config;
  const provider = config.providers[0];
  // Our bin dir holds exactly one binary, named after the provider: any other entry would
  // name a binary the kubelet cannot find, and it refuses to start.
  if (config.providers.length !== 1 || provider?.name !== settings.providerName) {
    const names = config.providers.slice(0, 5).map((p) => preview(p.name));
    return within([
      problem(
        "providers",
        `must contain exactly one provider, named ${JSON.stringify(settings.providerName)} (data.${settingsKeys.providerName}); found ${String(config.providers.length)}: [${names.join(", ")}${config.providers.length > 5 ? ", …" : ""}]`,
      ),
    ]);
  }
  // The kubelet only asks nodecred about images its own patterns match: a template that registers
  // less than matchImages would silently leave some of them without credentials.
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
  if (uncovered.length > 0) return { ok: false, problems: uncovered };
  const entry = providerEntryProblems(
    provider,
    "providers[0]",
    settings.matching,
    settings.credentialSets !== null,
  );
  if (entry.length > 0) return within(entry);
  // The text is made when asked for: the sync container only checks, and for 1,000 patterns
  // serializing costs about as much as validating.
  let text: string | null = null;
  return {
    ok: true,
    value: {
      config,
      get text(): string {
        text ??= serializeConfig(config);
        return text;
      },
    },
  };
}
