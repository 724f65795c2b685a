/**
 * Rendering the CredentialProviderConfig (installer/core/kubelet/kubelet-config.ts, template.ts): what a template sees,
 * what the built-in template registers in each matching mode, the refusal of a template that
 * registers less than matchImages (the kubelet would never ask nodecred about those images), and
 * the hint for a nodecred 0.1 template that still names credentialsFile; the template's bounds (size,
 * tags, partials, rendering work, output); our provider entry held to what the provider itself
 * accepts (its own argv parser, the policy file in `live`) and no secret-looking env.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSettings, type Settings } from "../../installer/core/settings/configmap.ts";
import { envelopeFor, envelopePatterns } from "../../installer/core/kubelet/envelope.ts";
import { nodecredPaths } from "../../installer/core/node/flavour.ts";
import { configMapLimits } from "../../installer/core/settings/configmap.ts";
import type { Problem, Result } from "../../installer/core/problems.ts";
import {
  parseKubeletVersion,
  type KubeletVersion,
} from "../../installer/core/kubelet/kubelet-version.ts";
import {
  kubeletConfigFor,
  type KubeletConfig,
  type KubeletTarget,
} from "../../installer/core/kubelet/kubelet-config.ts";
import { kubeletSpec } from "../../installer/core/kubelet/kubelet-spec.ts";
import { secretLikeEnv } from "../../installer/core/kubelet/provider-entry.ts";
import {
  defaultTemplate,
  renderLimits,
  templateContext,
} from "../../installer/core/kubelet/template.ts";
import { parse as parseYaml } from "yaml";
import { entryTemplate, settingsOf } from "./templates.ts";

const node = { binDir: "/etc/nodecred/bin", flavour: "kubeadm-rpm" };

/** A template registering exactly `patterns`, whatever matchImages says. */
function hardCoded(patterns: readonly string[]): string {
  return entryTemplate({ matchImages: patterns });
}

const matchImages = "registry.example.test\n*.registry.example.test:5000/team\nlocalhost:5001";

describe("template context", () => {
  it("exactly the documented names, built once from the settings and the node", () => {
    const s = settingsOf({ matchImages, defaultCacheDuration: "1m" });
    assert.deepEqual(templateContext(s, kubeletSpec(s), node), {
      providerName: "nodecred",
      matchImages: envelopePatterns(envelopeFor(s.matchImages)),
      matching: "live",
      defaultCacheDuration: "1m",
      policyFile: nodecredPaths.policyFile,
      binDir: "/etc/nodecred/bin",
      flavour: "kubeadm-rpm",
      tokenAttributes: null,
    });
    assert.equal(nodecredPaths.policyFile, "/etc/nodecred/credentials/policy.json");
  });
  it("matching: kubelet gives the patterns themselves", () => {
    const s = settingsOf({ matchImages, matching: "kubelet" });
    assert.deepEqual(templateContext(s, kubeletSpec(s), node).matchImages, [
      "registry.example.test",
      "*.registry.example.test:5000/team",
      "localhost:5001",
    ]);
  });
});

describe("the built-in template", () => {
  it("live: registers the envelope, passes --policy and --cache-duration", () => {
    const r = kubeletConfigFor(settingsOf({ matchImages }), node, undefined);
    if (!r.ok) assert.fail(JSON.stringify(r.problems));
    const p = r.value.config.providers[0];
    assert.ok(p);
    assert.deepEqual(p.matchImages, envelopePatterns({ ports: ["", "5000", "5001"], segments: 7 }));
    assert.deepEqual(p.args, [
      "--policy=/etc/nodecred/credentials/policy.json",
      "--cache-duration=0s",
    ]);
    assert.equal(p.defaultCacheDuration, "0s");
    assert.doesNotMatch(r.value.text, /credentials=|docker-config/);
  });
  it("kubelet: registers matchImages as they are", () => {
    const r = kubeletConfigFor(settingsOf({ matchImages, matching: "kubelet" }), node, undefined);
    if (!r.ok) assert.fail(JSON.stringify(r.problems));
    assert.deepEqual(r.value.config.providers[0]?.matchImages, [
      "registry.example.test",
      "*.registry.example.test:5000/team",
      "localhost:5001",
    ]);
  });
});

describe("a template must register every matchImages pattern", () => {
  const table: [name: string, registered: string[], uncovered: number[]][] = [
    [
      "the same patterns",
      ["registry.example.test", "*.registry.example.test:5000/team", "localhost:5001"],
      [],
    ],
    ["broader ones", ["*.*.*", "*.*.*.*:5000", "*:5001"], []],
    ["the port of one missing", ["registry.example.test", "*.registry.example.test:5000"], [2]],
    [
      "a narrower glob, a narrower path",
      ["registry.example.test", "a*.registry.example.test:5000/team", "localhost:5001/x"],
      [1, 2],
    ],
    ["only the first", ["registry.example.test"], [1, 2]],
  ];
  for (const [name, registered, uncovered] of table) {
    it(`${name}: ${uncovered.length === 0 ? "accepted" : `refused at ${uncovered.map((i) => `data.matchImages[${String(i)}]`).join(", ")}`}`, () => {
      const r = kubeletConfigFor(
        settingsOf({ matchImages, credentialProviderConfigTemplate: hardCoded(registered) }),
        node,
        undefined,
      );
      if (uncovered.length === 0) {
        assert.ok(r.ok, JSON.stringify(r.ok ? null : r.problems));
        return;
      }
      if (r.ok) assert.fail("a template registering less than matchImages was accepted");
      assert.deepEqual(
        r.problems.map((p) => p.path),
        uncovered.map((i) => `data.matchImages[${String(i)}]`),
      );
      for (const p of r.problems) {
        assert.match(p.message, /is not covered by the rendered provider's matchImages/);
      }
    });
  }
});

describe("an unknown name in a template is an error wherever it stands", () => {
  const table: [name: string, use: string][] = [
    ["on its own", "{{nope}}"],
    ["as a helper's argument", "{{json nope}}"],
    ["inside a subexpression", '{{json (concat "--a=" nope)}}'],
    ["as a block's argument", "{{#if nope}}x{{/if}}"],
  ];
  for (const [name, use] of table) {
    it(name, () => {
      const r = kubeletConfigFor(
        settingsOf({
          matchImages,
          credentialProviderConfigTemplate: `${hardCoded(["*.*.*"])}# ${use}\n`,
        }),
        node,
        undefined,
      );
      if (r.ok) assert.fail(`${use} rendered`);
      const p = r.problems[0];
      assert.ok(p);
      assert.equal(p.path, "data.credentialProviderConfigTemplate");
      assert.match(p.message, /"nope" not defined/);
    });
  }
  it("bad beside good: the known names render", () => {
    const known =
      "{{json providerName}} {{json matching}} {{json binDir}} {{json flavour}} {{json policyFile}}";
    const r = kubeletConfigFor(
      settingsOf({
        matchImages: "a.example.test",
        credentialProviderConfigTemplate: `${hardCoded(["*.*.*"])}# ${known}\n`,
      }),
      node,
      undefined,
    );
    assert.ok(r.ok, JSON.stringify(r.ok ? null : r.problems));
  });
});

describe("a nodecred 0.1 template", () => {
  const old = entryTemplate({ args: '{{json (concat "--credentials=" credentialsFile)}}' });
  it("naming credentialsFile is refused with a hint to policyFile", () => {
    const r = kubeletConfigFor(
      settingsOf({ matchImages, credentialProviderConfigTemplate: old }),
      node,
      undefined,
    );
    if (r.ok) assert.fail("accepted");
    assert.equal(r.problems.length, 1);
    const p = r.problems[0];
    assert.ok(p);
    assert.equal(p.path, "data.credentialProviderConfigTemplate");
    assert.match(p.message, /"credentialsFile" not defined/);
    assert.match(p.message, /credentialsFile is gone: .*--policy= plus policyFile/);
  });
  it("another unknown name: no such hint", () => {
    const r = kubeletConfigFor(
      settingsOf({
        matchImages,
        credentialProviderConfigTemplate: old.replace("credentialsFile", "credsFile"),
      }),
      node,
      undefined,
    );
    if (r.ok) assert.fail("accepted");
    assert.match(r.problems[0]?.message ?? "", /"credsFile" not defined/);
    assert.doesNotMatch(r.problems[0]?.message ?? "", /policyFile/);
  });
  it("fixed as the hint says: accepted", () => {
    const r = kubeletConfigFor(
      settingsOf({
        matchImages,
        credentialProviderConfigTemplate: old.replace(
          '"--credentials=" credentialsFile',
          '"--policy=" policyFile',
        ),
      }),
      node,
      undefined,
    );
    assert.ok(r.ok, JSON.stringify(r.ok ? null : r.problems));
  });
});

const problemsOf = (r: Result<unknown>): readonly Problem[] => (r.ok ? [] : r.problems);

/** The built-in template with its provider entry's args and env replaced. */
function withEntry(
  args: readonly string[],
  env: readonly { name: string; value: string }[] = [],
): string {
  const argLines = args.map((a) => `      - ${JSON.stringify(a)}\n`).join("");
  const envLines = env
    .map(
      (e) => `      - name: ${JSON.stringify(e.name)}\n        value: ${JSON.stringify(e.value)}\n`,
    )
    .join("");
  return defaultTemplate.replace(
    / {4}args:\n(.*\n)*$/,
    `    args:${args.length === 0 ? " []" : ""}\n${argLines}${env.length > 0 ? `    env:\n${envLines}` : ""}`,
  );
}

describe("the provider's args: what nodecred's provider itself accepts (provider/core/cli.ts)", () => {
  const policy = `--policy=${nodecredPaths.policyFile}`;
  const table: [
    name: string,
    args: string[],
    matching: "live" | "kubelet",
    refused: RegExp | null,
  ][] = [
    ["the built-in args", [policy, "--cache-duration=0s"], "live", null],
    ["no args: the provider reads the policy file by default", [], "live", null],
    ["--policy PATH as two args", ["--policy", nodecredPaths.policyFile], "live", null],
    [
      "an unknown flag",
      [policy, "--verbose"],
      "live",
      /refuses these args.*unexpected argument "--verbose"/,
    ],
    ["a flag given twice", [policy, policy], "live", /--policy is given more than once/],
    [
      "a malformed --cache-duration",
      [policy, "--cache-duration=5x"],
      "live",
      /--cache-duration "5x" is not a non-negative Go duration/,
    ],
    ["a negative --cache-duration", [policy, "--cache-duration=-1s"], "live", /not a non-negative/],
    [
      "--credentials in live",
      ["--credentials=/etc/nodecred/credentials/docker-config.json"],
      "live",
      /must read the policy file.*--credentials=/,
    ],
    [
      "--policy elsewhere in live",
      ["--policy=/etc/other/policy.json"],
      "live",
      /must read the policy file.*--policy="\/etc\/other/,
    ],
    [
      "--credentials in kubelet mode too (nodecred writes only the policy file)",
      ["--credentials=/etc/x.json"],
      "kubelet",
      /with matching: kubelet the provider must read the policy file.*--credentials=/,
    ],
    ["the policy file in kubelet mode", [policy, "--cache-duration=10m"], "kubelet", null],
    [
      "--check: the provider would answer no request",
      [policy, "--check"],
      "live",
      /runs as --check/,
    ],
    ["--version", ["--version"], "kubelet", /runs as --version/],
    ["both sources", [policy, "--credentials=/x"], "kubelet", /not both/],
  ];
  for (const [name, args, matching, refused] of table) {
    it(`${refused === null ? "accepts" : "refuses"} ${name}`, () => {
      const r = kubeletConfigFor(
        settingsOf({ matchImages, matching, credentialProviderConfigTemplate: withEntry(args) }),
        node,
        undefined,
      );
      if (refused === null) {
        assert.ok(r.ok, JSON.stringify(problemsOf(r)));
        assert.deepEqual(r.value.config.providers[0]?.args, args);
        return;
      }
      assert.deepEqual(
        problemsOf(r).map((p) => p.path),
        ["rendered CredentialProviderConfig: providers[0].args"],
      );
      assert.match(problemsOf(r)[0]?.message ?? "", refused);
    });
  }
  it("a huge unknown argument is quoted by a prefix", () => {
    const r = kubeletConfigFor(
      settingsOf({
        matchImages,
        credentialProviderConfigTemplate: withEntry([`--x=${"y".repeat(50_000)}`]),
      }),
      node,
      undefined,
    );
    assert.ok(!r.ok);
    assert.ok((problemsOf(r)[0]?.message.length ?? 0) < 400);
  });
});

describe("env: nothing that looks like a secret (the config is world-readable on the node)", () => {
  const table: [name: string, value: string, refused: RegExp | null][] = [
    ["HTTPS_PROXY", "http://proxy.internal:3128", null],
    ["NO_PROXY", "localhost,127.0.0.1,.svc", null],
    ["GODEBUG", "x509sha1=1", null],
    ["LOG_LEVEL", "debug", null],
    ["CONFIG_DIR", "/var/lib/kubelet/credential-provider", null],
    ["REGISTRY", "registry.example.test:5000", null],
    ["PWD", "/", null],
    ["PASSWORD", "x", /name says PASSWORD/],
    ["DB_PASSWD", "x", /name says PASSWD/],
    ["GITHUB_TOKEN", "x", /name says TOKEN/],
    ["AWS_SECRET_ACCESS_KEY", "x", /name says SECRET/],
    ["apiKey", "x", /name says KEY/],
    ["REGISTRY_AUTH", "x", /name says AUTH/],
    ["AWS_SHARED_CREDENTIALS_FILE", "/x", /name says CREDENTIALS/],
    ["VALUE", "robot:s3cr3t", /user:password/],
    ["VALUE", "https://robot:s3cr3t@registry.example.test", /URL with a password/],
    ["VALUE", "Bearer abc.def", /Authorization header/],
    ["VALUE", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", /JSON Web Token/],
    ["VALUE", "-----BEGIN PRIVATE KEY-----\nMIIE", /PEM block/],
    ["VALUE", "AKIAIOSFODNN7EXAMPLE", /AWS access key ID/],
    ["VALUE", "dXNlcjpwYXNzd29yZC13aXRoLWEtbG9uZy10YWls", /random-looking/],
    ["VALUE", "0123456789abcdef0123456789abcdef", /random-looking/],
  ];
  for (const [name, value, refused] of table) {
    it(`${refused === null ? "accepts" : "refuses"} ${name}=${value.length > 24 ? `${value.slice(0, 24)}…` : value}`, () => {
      const why = secretLikeEnv({ name, value });
      if (refused === null) assert.equal(why, null);
      else assert.match(why ?? "", refused);
      const r = kubeletConfigFor(
        settingsOf({
          matchImages,
          credentialProviderConfigTemplate: withEntry(
            [],
            [
              { name: "LOG_LEVEL", value: "1" },
              { name, value },
            ],
          ),
        }),
        node,
        undefined,
      );
      if (refused === null) {
        assert.ok(r.ok, JSON.stringify(problemsOf(r)));
        return;
      }
      assert.deepEqual(
        problemsOf(r).map((p) => p.path),
        ["rendered CredentialProviderConfig: providers[0].env[1]"],
      );
      // The value is a secret: it is never repeated.
      if (value.length > 1) assert.ok(!JSON.stringify(problemsOf(r)).includes(value.slice(0, 12)));
    });
  }
});

describe("the template's bounds", () => {
  const padTo = (bytes: number): string => {
    const head = `${defaultTemplate}# `;
    return `${head}${"x".repeat(bytes - head.length - 1)}\n`;
  };
  it("64 KiB accepted, one byte more refused (before it is compiled)", () => {
    assert.ok(
      kubeletConfigFor(
        settingsOf({
          matchImages,
          credentialProviderConfigTemplate: padTo(configMapLimits.templateBytes),
        }),
        node,
        undefined,
      ).ok,
    );
    const r = parseSettings({
      matchImages,
      credentialProviderConfigTemplate: padTo(configMapLimits.templateBytes + 1),
    });
    assert.deepEqual(
      problemsOf(r).map((p) => p.path),
      ["data.credentialProviderConfigTemplate"],
    );
  });
  it(`${String(renderLimits.tags)} {{ tags accepted, one more refused`, () => {
    const builtIn = defaultTemplate.split("{{").length - 1;
    assert.equal(builtIn, 10);
    const tags = (n: number): string => `${defaultTemplate}${"{{! c }}\n".repeat(n - builtIn)}`;
    assert.ok(
      kubeletConfigFor(
        settingsOf({ matchImages, credentialProviderConfigTemplate: tags(renderLimits.tags) }),
        node,
        undefined,
      ).ok,
    );
    const r = kubeletConfigFor(
      settingsOf({ matchImages, credentialProviderConfigTemplate: tags(renderLimits.tags + 1) }),
      node,
      undefined,
    );
    assert.match(problemsOf(r)[0]?.message ?? "", /257 \{\{…\}\} tags; at most 256/);
  });
  const refusedTemplates: [name: string, template: string, message: RegExp][] = [
    ["a partial", `${defaultTemplate}{{> other}}`, /a partial \(\{\{> name\}\}\) is not supported/],
    ["a partial block", `${defaultTemplate}{{#> other}}x{{/other}}`, /a partial block/],
    [
      "an inline partial calling itself",
      `{{#*inline "a"}}{{> a}}{{/inline}}{{> a}}`,
      /an inline partial/,
    ],
    ["the log helper (it writes to stdout)", `${defaultTemplate}{{log matchImages}}`, /template: /],
    [
      "a loop in a loop in a loop over matchImages",
      `${defaultTemplate}{{#each matchImages}}{{#each @root.matchImages}}{{#each @root.matchImages}}#{{/each}}{{/each}}{{/each}}`,
      /rendering stopped after 4194304 characters of work/,
    ],
    [
      "a list written out 200 times",
      `${defaultTemplate}${"# {{json matchImages}}\n".repeat(200)}`,
      /rendering stopped/,
    ],
    [
      "the list as text, through this",
      `${defaultTemplate}{{#with matchImages}}${"# {{this}}\n".repeat(200)}{{/with}}`,
      /rendering stopped/,
    ],
  ];
  // 1,000 patterns of 200 characters: ~200 kB, so that a few hundred copies exceed the budget.
  const many = Array.from(
    { length: 1000 },
    (_, i) => `r${String(i)}.example.test/${"p".repeat(180)}`,
  ).join("\n");
  for (const [name, template, message] of refusedTemplates) {
    it(`refuses ${name}`, () => {
      const r = kubeletConfigFor(
        settingsOf({
          matchImages: many,
          matching: "kubelet",
          credentialProviderConfigTemplate: template,
        }),
        node,
        undefined,
      );
      assert.deepEqual(
        problemsOf(r)
          .map((p) => p.path)
          .slice(0, 1),
        ["data.credentialProviderConfigTemplate"],
      );
      assert.match(problemsOf(r)[0]?.message ?? "", message);
    });
  }
  it("output over 1.5 MiB is refused (within the work budget)", () => {
    // 1,000 patterns of ~1,000 characters, listed twice: ~2 MB of output, ~2 MB of work.
    const big = Array.from(
      { length: 1000 },
      (_, i) => `r${String(i)}.example.test/${"%61".repeat(255)}?${"q".repeat(219)}`,
    ).join("\n");
    const template = `${defaultTemplate}# {{json matchImages}}\n`;
    const once = kubeletConfigFor(
      settingsOf({ matchImages: big, matching: "kubelet" }),
      node,
      undefined,
    );
    assert.ok(once.ok, JSON.stringify(problemsOf(once)));
    const r = kubeletConfigFor(
      settingsOf({
        matchImages: big,
        matching: "kubelet",
        credentialProviderConfigTemplate: template,
      }),
      node,
      undefined,
    );
    assert.match(problemsOf(r)[0]?.message ?? "", /renders \d+ characters; .* at most 1572864/);
  });
  it("the largest real config renders: 1,000 patterns of ~1 KiB, matching: kubelet", () => {
    const big = Array.from(
      { length: 1000 },
      (_, i) => `r${String(i)}.example.test/${"%61".repeat(255)}${"?".padEnd(230, "q")}`,
    );
    const data = { matchImages: big.join("\n"), matching: "kubelet" };
    assert.ok(
      big.join("\n").length > 1_000_000 && big.join("\n").length < configMapLimits.dataBytes,
    );
    const r = kubeletConfigFor(settingsOf(data), node, undefined);
    assert.ok(r.ok, JSON.stringify(problemsOf(r)));
    assert.equal(r.value.config.providers[0]?.matchImages.length, 1000);
  });
});

describe("scoped credentials: tokenAttributes, and the kubelet they need", () => {
  const version = (text: string): KubeletVersion => {
    const v = parseKubeletVersion(text);
    if (v === null) assert.fail(text);
    return v;
  };
  const scoped = (extra: Record<string, string> = {}): Settings =>
    settingsOf({ matchImages, credentialSets: "{}", ...extra });
  const want = {
    cacheType: "ServiceAccount",
    optionalServiceAccountAnnotationKeys: ["nodecred.io/credentials"],
    requireServiceAccount: false,
    serviceAccountTokenAudience: "nodecred.io",
  };
  /** The rendered entry's tokenAttributes as written to the node (sorted keys). */
  const writtenTokenAttributes = (r: Result<KubeletConfig>): unknown => {
    if (!r.ok) assert.fail(JSON.stringify(r.problems));
    const doc = parseYaml(r.value.text) as { providers: Record<string, unknown>[] };
    return doc.providers[0]?.["tokenAttributes"];
  };
  /** A template with our entry and `extra` lines in it. */
  const withEntry = (extra: string): string => entryTemplate({ extra });

  it("the context holds exactly the design's block with credentialSets, null without", () => {
    assert.deepEqual(templateContext(scoped(), kubeletSpec(scoped()), node).tokenAttributes, {
      serviceAccountTokenAudience: "nodecred.io",
      cacheType: "ServiceAccount",
      requireServiceAccount: false,
      optionalServiceAccountAnnotationKeys: ["nodecred.io/credentials"],
    });
    assert.equal(
      templateContext(settingsOf({ matchImages }), kubeletSpec(settingsOf({ matchImages })), node)
        .tokenAttributes,
      null,
    );
  });
  it("the built-in template renders it with credentialSets (kubelet v1.34.0 and later)", () => {
    for (const v of ["v1.34.0", "v1.35.2", "v1.36.0"]) {
      assert.deepEqual(writtenTokenAttributes(kubeletConfigFor(scoped(), node, version(v))), want);
    }
  });
  it("and not without: the text is what it was before scopes existed", () => {
    const r = kubeletConfigFor(settingsOf({ matchImages }), node, version("v1.34.0"));
    assert.equal(writtenTokenAttributes(r), undefined);
    if (!r.ok) assert.fail();
    assert.doesNotMatch(r.value.text, /tokenAttributes|nodecred\.io\/credentials/);
  });
  const tooOld: [kubelet: KubeletTarget, message: RegExp][] = [
    [
      version("v1.33.5"),
      /^scoped credentials need a kubelet that sends service account tokens to credential providers \(tokenAttributes, feature gate KubeletServiceAccountTokenForCredentialProviders, on by default from v1\.34\); this node's kubelet is v1\.33\.5: upgrade it, or remove credentialSets$/,
    ],
    [version("v1.26.0"), /this node's kubelet is v1\.26\.0/],
    [undefined, /this node's kubelet version is not known \(pass --kubelet-version/],
  ];
  for (const [kubelet, message] of tooOld) {
    it(`refused at data.credentialSets on a kubelet ${kubelet === undefined ? "of unknown version" : typeof kubelet === "string" ? kubelet : kubelet.text}`, () => {
      const r = kubeletConfigFor(scoped(), node, kubelet);
      assert.deepEqual(
        problemsOf(r).map((p) => p.path),
        ["data.credentialSets"],
      );
      assert.match(problemsOf(r)[0]?.message ?? "", message);
    });
  }
  it("the cluster side's check (any kubelet) leaves the version to each node", () => {
    assert.deepEqual(writtenTokenAttributes(kubeletConfigFor(scoped(), node, "any")), want);
    // Unscoped settings never needed a version.
    assert.ok(kubeletConfigFor(settingsOf({ matchImages }), node, undefined).ok);
  });
  it("a template rendering {{json tokenAttributes}} works both ways", () => {
    const template = withEntry(
      "{{#if tokenAttributes}}\n    tokenAttributes: {{json tokenAttributes}}\n{{/if}}\n",
    );
    assert.deepEqual(
      writtenTokenAttributes(
        kubeletConfigFor(
          scoped({ credentialProviderConfigTemplate: template }),
          node,
          version("v1.34.1"),
        ),
      ),
      want,
    );
    assert.ok(
      kubeletConfigFor(
        settingsOf({ matchImages, credentialProviderConfigTemplate: template }),
        node,
        undefined,
      ).ok,
    );
  });
  const entryCases: [name: string, scopedSettings: boolean, extra: string, message: RegExp][] = [
    [
      "scoped, a template without tokenAttributes",
      true,
      "",
      /^with data\.credentialSets the entry must carry exactly tokenAttributes \{"cacheType":"ServiceAccount",.*; it has none, so the kubelet would send no service account token/,
    ],
    [
      "scoped, another audience",
      true,
      '    tokenAttributes: {serviceAccountTokenAudience: other, cacheType: ServiceAccount, requireServiceAccount: false, optionalServiceAccountAnnotationKeys: ["nodecred.io/credentials"]}\n',
      /these differ/,
    ],
    [
      "scoped, cacheType Token",
      true,
      '    tokenAttributes: {serviceAccountTokenAudience: nodecred.io, cacheType: Token, requireServiceAccount: false, optionalServiceAccountAnnotationKeys: ["nodecred.io/credentials"]}\n',
      /these differ/,
    ],
    [
      "scoped, without the annotation key",
      true,
      "    tokenAttributes: {serviceAccountTokenAudience: nodecred.io, cacheType: ServiceAccount, requireServiceAccount: false}\n",
      /these differ/,
    ],
    [
      "scoped, requiring a ServiceAccount",
      true,
      '    tokenAttributes: {serviceAccountTokenAudience: nodecred.io, cacheType: ServiceAccount, requireServiceAccount: true, optionalServiceAccountAnnotationKeys: ["nodecred.io/credentials"]}\n',
      /these differ/,
    ],
    [
      "unscoped, tokenAttributes anyway",
      false,
      '    tokenAttributes: {serviceAccountTokenAudience: nodecred.io, cacheType: ServiceAccount, requireServiceAccount: false, optionalServiceAccountAnnotationKeys: ["nodecred.io/credentials"]}\n',
      /^must be absent without data\.credentialSets: the kubelet would request a service account token for every pull/,
    ],
  ];
  for (const [name, isScoped, extra, message] of entryCases) {
    it(`refused: ${name}`, () => {
      const data = { matchImages, credentialProviderConfigTemplate: withEntry(extra) };
      const r = kubeletConfigFor(
        isScoped ? scoped(data) : settingsOf(data),
        node,
        version("v1.34.0"),
      );
      assert.deepEqual(
        problemsOf(r).map((p) => p.path),
        ["rendered CredentialProviderConfig: providers[0].tokenAttributes"],
      );
      assert.match(problemsOf(r)[0]?.message ?? "", message);
    });
  }
});
