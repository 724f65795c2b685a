import Handlebars from "handlebars";
import { SELECT_ANNOTATION, TOKEN_AUDIENCE } from "../../../provider/core/scopes.ts";
import { nodecredPaths } from "../node/flavour.ts";
import { problem, type Result } from "../problems.ts";
import { settingsKeys, type Matching, type Settings } from "../settings/configmap.ts";
import type { KubeletSpec } from "./kubelet-spec.ts";

/**
 * The CredentialProviderConfig template: what a template sees (`templateContext`, documented in
 * installer/README.md), the built-in one, and the handlebars run itself, bounded. Handlebars runs
 * with `noEscape` (this is YAML, not HTML) and `strict` (a misspelt variable is an error, not an
 * empty string). Values are best inserted with the `json` helper, which emits a JSON string:
 * always a valid YAML scalar. What the text must then be is kubelet-config.ts's business.
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

/** The one builder of a template's context: the settings, what the kubelet registers, the node. */
export function templateContext(
  settings: Settings,
  spec: KubeletSpec,
  node: TemplateNode,
): TemplateContext {
  return {
    providerName: settings.providerName,
    matchImages: spec.registered,
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
