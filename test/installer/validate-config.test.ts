/**
 * The kubelet's own CredentialProviderConfig tests (kubernetes/kubernetes
 * pkg/credentialprovider/plugin/config_test.go: Test_readCredentialProviderConfig and
 * Test_validateCredentialProviderConfig), case names kept, run against our validator and then
 * through the installer: every invalid config is rejected with its path and nothing is written.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { parseKubeletVersion } from "../../installer/core/kubelet/kubelet-version.ts";
import { parseStrictYaml } from "../../installer/core/strict-yaml.ts";
import { checkCredentialProviderConfig } from "../../installer/core/kubelet/validate-config.ts";
import { inputTree, listCases, runInstaller, standInProvider } from "./golden.ts";
import { diffSnapshots, snapshot } from "./tree.ts";

const v = (text: string): NonNullable<ReturnType<typeof parseKubeletVersion>> => {
  const r = parseKubeletVersion(text);
  assert.ok(r);
  return r;
};

/** Test_readCredentialProviderConfig (single-file cases; we never write the directory form). */
const readCases: { name: string; data: string; expectErr?: { path: string; text: string } }[] = [
  {
    name: "config with 1 plugin and 1 image matcher",
    data: `---
kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1alpha1
providers:
  - name: test
    matchImages:
    - "registry.io/foobar"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1
    args:
    - --v=5
    env:
    - name: FOO
      value: BAR`,
  },
  {
    name: "config with 1 plugin and 1 image matcher (JSON!)",
    data: `{
  "kind": "CredentialProviderConfig",
  "apiVersion": "kubelet.config.k8s.io/v1alpha1",
  "providers": [
    {
      "name": "test",
      "matchImages": ["registry.io/foobar"],
      "defaultCacheDuration": "10m",
      "apiVersion": "credentialprovider.kubelet.k8s.io/v1alpha1",
      "args": ["--v=5"],
      "env": [{"name": "FOO", "value": "BAR"}]
    }
  ]
}`,
  },
  {
    name: "config with 1 plugin and a wildcard image match",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1alpha1
providers:
  - name: test
    matchImages:
    - "registry.io/*"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1`,
  },
  {
    name: "config with 1 plugin and multiple image matchers",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1alpha1
providers:
  - name: test
    matchImages:
    - "registry.io/*"
    - "foobar.registry.io/*"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1`,
  },
  {
    name: "v1beta1 config with multiple providers",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1beta1
providers:
  - name: test1
    matchImages:
    - "registry.io/one"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
  - name: test2
    matchImages:
    - "registry.io/two"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
    args:
    - --v=5
    env:
    - name: FOO
      value: BAR`,
  },
  {
    name: "v1 config with multiple providers",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1
providers:
  - name: test1
    matchImages:
    - "registry.io/one"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1
  - name: test2
    matchImages:
    - "registry.io/two"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1`,
  },
  {
    name: "config with wrong Kind",
    data: `kind: WrongKind
apiVersion: kubelet.config.k8s.io/v1alpha1
providers:
  - name: test
    matchImages:
    - "registry.io/foobar"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1`,
    expectErr: {
      path: "kind",
      text: `no kind "WrongKind" is registered for version "kubelet.config.k8s.io/v1alpha1"`,
    },
  },
  {
    name: "config with wrong apiversion",
    data: `kind: CredentialProviderConfig
apiVersion: foobar/v1alpha1
providers:
  - name: test
    matchImages:
    - "registry.io/foobar"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1`,
    expectErr: {
      path: "apiVersion",
      text: `no kind "CredentialProviderConfig" is registered for version "foobar/v1alpha1"`,
    },
  },
  {
    name: "config with invalid typo",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1
providers:
  - name: test
    matchImages:
    - "registry.io/foobar"
    defaultCacheDuration: 10m
    unknownField: should not be here # this field should not be here
    apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1`,
    expectErr: {
      path: "providers[0].unknownField",
      text: `strict decoding error: unknown field "providers[0].unknownField"`,
    },
  },
  {
    name: "v1alpha1 config with token attributes should fail",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1alpha1
providers:
  - name: test
    matchImages:
    - "registry.io/foobar"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1
    tokenAttributes:
      serviceAccountTokenAudience: audience`,
    expectErr: {
      path: "providers[0].tokenAttributes",
      text: `strict decoding error: unknown field "providers[0].tokenAttributes"`,
    },
  },
  {
    name: "v1beta1 config with token attributes should fail",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1beta1
providers:
  - name: test
    matchImages:
    - "registry.io/foobar"
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
    tokenAttributes:
      serviceAccountTokenAudience: audience`,
    expectErr: {
      path: "providers[0].tokenAttributes",
      text: `strict decoding error: unknown field "providers[0].tokenAttributes"`,
    },
  },
  // Strict-decoding rules the kubelet's serializer applies that config_test.go does not spell out.
  {
    name: "duplicate field (strict decoding)",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1
providers:
  - name: test
    name: test2
    matchImages: ["registry.io"]
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1`,
    expectErr: { path: "", text: "Map keys must be unique" },
  },
  {
    name: "field names are case-sensitive (strict decoding)",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1
providers:
  - Name: test
    matchImages: ["registry.io"]
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1`,
    expectErr: { path: "providers[0].Name", text: "unknown field" },
  },
  {
    name: "defaultCacheDuration must be a string (metav1.Duration)",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1
providers:
  - name: test
    matchImages: ["registry.io"]
    defaultCacheDuration: 0
    apiVersion: credentialprovider.kubelet.k8s.io/v1`,
    expectErr: { path: "providers[0].defaultCacheDuration", text: "cannot unmarshal number" },
  },
  {
    name: "YAML 1.1 boolean where a string is expected",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1
providers:
  - name: test
    matchImages: [on]
    defaultCacheDuration: 1h
    apiVersion: credentialprovider.kubelet.k8s.io/v1`,
    expectErr: { path: "providers[0].matchImages[0]", text: "cannot unmarshal boolean" },
  },
  {
    name: "Go duration syntax",
    data: `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1
providers:
  - name: test
    matchImages: ["registry.io"]
    defaultCacheDuration: 10 minutes
    apiVersion: credentialprovider.kubelet.k8s.io/v1`,
    expectErr: {
      path: "providers[0].defaultCacheDuration",
      text: `time: unknown unit " minutes" in duration "10 minutes"`,
    },
  },
];

interface ProviderCase {
  name?: string;
  matchImages?: string[];
  defaultCacheDuration?: string;
  apiVersion?: string;
  tokenAttributes?: Record<string, unknown>;
}

/** Test_validateCredentialProviderConfig; saTokenForCredentialProviders ↔ kubelet ≥ 1.34. */
const sa = (
  cacheType: string | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  serviceAccountTokenAudience: "audience",
  ...(cacheType === undefined ? {} : { cacheType }),
  requireServiceAccount: true,
  ...extra,
});
const base: ProviderCase = {
  name: "foobar",
  matchImages: ["foobar.registry.io"],
  defaultCacheDuration: "1m",
  apiVersion: "credentialprovider.kubelet.k8s.io/v1alpha1",
};
const v1: ProviderCase = { ...base, apiVersion: "credentialprovider.kubelet.k8s.io/v1" };
const validateCases: {
  name: string;
  providers: ProviderCase[];
  saToken?: boolean;
  expectErr?: { path: string; text: string };
}[] = [
  {
    name: "no providers provided",
    providers: [],
    expectErr: {
      path: "providers",
      text: "Required value: at least 1 item in plugins is required",
    },
  },
  {
    name: "no matchImages provided",
    providers: [{ ...base, matchImages: [] }],
    expectErr: {
      path: "providers[0].matchImages",
      text: "Required value: at least 1 item in matchImages is required",
    },
  },
  {
    name: "no default cache duration provided",
    providers: [
      { name: "foobar", matchImages: ["foobar.registry.io"], apiVersion: base.apiVersion ?? "" },
    ],
    expectErr: { path: "providers[0].defaultCacheDuration", text: "Required value" },
  },
  {
    name: "name contains '/'",
    providers: [{ ...base, name: "foo/../bar" }],
    expectErr: {
      path: "providers[0].name",
      text: `Invalid value: "foo/../bar": provider name cannot contain '/'`,
    },
  },
  {
    name: "name is '.'",
    providers: [{ ...base, name: "." }],
    expectErr: {
      path: "providers[0].name",
      text: `Invalid value: ".": provider name cannot be '.'`,
    },
  },
  {
    name: "name is '..'",
    providers: [{ ...base, name: ".." }],
    expectErr: {
      path: "providers[0].name",
      text: `Invalid value: "..": provider name cannot be '..'`,
    },
  },
  {
    name: "name contains spaces",
    providers: [{ ...base, name: "foo bar" }],
    expectErr: {
      path: "providers[0].name",
      text: `Invalid value: "foo bar": provider name cannot contain spaces`,
    },
  },
  {
    name: "duplicate names",
    providers: [base, { ...base, matchImages: ["bar.registry.io"] }],
    expectErr: { path: "providers[1].name", text: `Duplicate value: "foobar"` },
  },
  {
    name: "no apiVersion",
    providers: [{ ...base, apiVersion: "" }],
    expectErr: { path: "providers[0].apiVersion", text: "Required value" },
  },
  {
    name: "invalid apiVersion",
    providers: [{ ...base, apiVersion: "credentialprovider.kubelet.k8s.io/v1alpha0" }],
    expectErr: {
      path: "providers[0].apiVersion",
      text: `Unsupported value: "credentialprovider.kubelet.k8s.io/v1alpha0": supported values: "credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1alpha1", "credentialprovider.kubelet.k8s.io/v1beta1"`,
    },
  },
  {
    name: "negative default cache duration",
    providers: [{ ...base, defaultCacheDuration: "-1m" }],
    expectErr: {
      path: "providers[0].defaultCacheDuration",
      text: `Invalid value: "-1m0s": must be greater than or equal to 0`,
    },
  },
  {
    name: "invalid match image",
    providers: [{ ...base, matchImages: ["%invalid%"] }],
    expectErr: {
      path: "providers[0].matchImages[0]",
      text: `Invalid value: "%invalid%": match image is invalid: parse "https://%invalid%": invalid URL escape "%in"`,
    },
  },
  { name: "valid config", providers: [base] },
  {
    name: "token attributes set without KubeletServiceAccountTokenForCredentialProviders feature gate enabled",
    providers: [{ ...v1, tokenAttributes: sa("ServiceAccount") }],
    expectErr: {
      path: "providers[0].tokenAttributes",
      text: "Forbidden: tokenAttributes is not supported when KubeletServiceAccountTokenForCredentialProviders feature gate is disabled",
    },
  },
  {
    name: "token attributes not nil but empty ServiceAccountTokenAudience",
    saToken: true,
    providers: [
      {
        ...v1,
        tokenAttributes: {
          cacheType: "Token",
          requiredServiceAccountAnnotationKeys: [
            "prefix.io/annotation-1",
            "prefix.io/annotation-2",
          ],
          requireServiceAccount: true,
        },
      },
    ],
    expectErr: {
      path: "providers[0].tokenAttributes.serviceAccountTokenAudience",
      text: "Required value",
    },
  },
  {
    name: "token attributes not nil but empty CacheType",
    saToken: true,
    providers: [{ ...v1, tokenAttributes: sa(undefined) }],
    expectErr: {
      path: "providers[0].tokenAttributes.cacheType",
      text: "Required value: cacheType is required to be set when tokenAttributes is specified. Supported values are: ServiceAccount, Token",
    },
  },
  {
    name: "token attributes not nil, invalid CacheType",
    saToken: true,
    providers: [{ ...v1, tokenAttributes: sa("invalid-cache-type") }],
    expectErr: {
      path: "providers[0].tokenAttributes.cacheType",
      text: `Unsupported value: "invalid-cache-type": supported values: "ServiceAccount", "Token"`,
    },
  },
  {
    name: "token attributes not nil but empty ServiceAccountTokenRequired",
    saToken: true,
    providers: [
      {
        ...v1,
        tokenAttributes: {
          serviceAccountTokenAudience: "audience",
          cacheType: "ServiceAccount",
          requiredServiceAccountAnnotationKeys: ["prefix.io/annotation-1"],
        },
      },
    ],
    expectErr: {
      path: "providers[0].tokenAttributes.requireServiceAccount",
      text: "Required value",
    },
  },
  {
    name: "required service account annotation keys not qualified name (same validation as metav1.ObjectMeta)",
    saToken: true,
    providers: [
      {
        ...v1,
        tokenAttributes: sa("Token", {
          requiredServiceAccountAnnotationKeys: ["cantendwithadash-", "now-with-dashes/simple"],
        }),
      },
    ],
    expectErr: {
      path: "providers[0].tokenAttributes.requiredServiceAccountAnnotationKeys",
      text: `Invalid value: "cantendwithadash-": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    },
  },
  {
    name: "optional service account annotation keys not qualified name (same validation as metav1.ObjectMeta)",
    saToken: true,
    providers: [
      {
        ...v1,
        tokenAttributes: sa("ServiceAccount", {
          optionalServiceAccountAnnotationKeys: ["cantendwithadash-", "now-with-dashes/simple"],
        }),
      },
    ],
    expectErr: {
      path: "providers[0].tokenAttributes.optionalServiceAccountAnnotationKeys",
      text: `Invalid value: "cantendwithadash-": name part must consist`,
    },
  },
  {
    name: "duplicate required service account annotation keys",
    saToken: true,
    providers: [
      {
        ...v1,
        tokenAttributes: sa("Token", {
          requiredServiceAccountAnnotationKeys: [
            "now-with-dashes/simple",
            "now-with-dashes/simple",
          ],
        }),
      },
    ],
    expectErr: {
      path: "providers[0].tokenAttributes.requiredServiceAccountAnnotationKeys",
      text: `Duplicate value: "now-with-dashes/simple"`,
    },
  },
  {
    name: "duplicate optional service account annotation keys",
    saToken: true,
    providers: [
      {
        ...v1,
        tokenAttributes: sa("Token", {
          optionalServiceAccountAnnotationKeys: [
            "now-with-dashes/simple",
            "now-with-dashes/simple",
          ],
        }),
      },
    ],
    expectErr: {
      path: "providers[0].tokenAttributes.optionalServiceAccountAnnotationKeys",
      text: `Duplicate value: "now-with-dashes/simple"`,
    },
  },
  {
    name: "annotation key in required and optional keys",
    saToken: true,
    providers: [
      {
        ...v1,
        tokenAttributes: sa("Token", {
          requiredServiceAccountAnnotationKeys: [
            "now-with-dashes/simple-1",
            "now-with-dashes/simple-2",
          ],
          optionalServiceAccountAnnotationKeys: [
            "now-with-dashes/simple-2",
            "now-with-dashes/simple-3",
          ],
        }),
      },
    ],
    expectErr: {
      path: "providers[0].tokenAttributes",
      text: `Invalid value: ["now-with-dashes/simple-2"]: annotation keys cannot be both required and optional`,
    },
  },
  {
    name: "required annotation keys set when requireServiceAccount is false",
    saToken: true,
    providers: [
      {
        ...v1,
        tokenAttributes: sa("Token", {
          requireServiceAccount: false,
          requiredServiceAccountAnnotationKeys: ["now-with-dashes/simple-1"],
        }),
      },
    ],
    expectErr: {
      path: "providers[0].tokenAttributes.requiredServiceAccountAnnotationKeys",
      text: "Forbidden: requireServiceAccount cannot be false when requiredServiceAccountAnnotationKeys is set",
    },
  },
  {
    name: "valid config with KubeletServiceAccountTokenForCredentialProviders feature gate enabled",
    saToken: true,
    providers: [
      {
        ...v1,
        tokenAttributes: sa("ServiceAccount", {
          requiredServiceAccountAnnotationKeys: [
            "now-with-dashes/simple-1",
            "now-with-dashes/simple-2",
          ],
          optionalServiceAccountAnnotationKeys: ["now-with-dashes/simple-3"],
        }),
      },
    ],
  },
  {
    name: "tokenAttributes set with credentialprovider.kubelet.k8s.io/v1alpha1 APIVersion",
    saToken: true,
    providers: [
      {
        ...base,
        tokenAttributes: sa("Token", {
          requiredServiceAccountAnnotationKeys: ["now-with-dashes/simple"],
        }),
      },
    ],
    expectErr: {
      path: "providers[0].tokenAttributes",
      text: "Forbidden: tokenAttributes is only supported for credentialprovider.kubelet.k8s.io/v1 API version",
    },
  },
  {
    name: "tokenAttributes set with credentialprovider.kubelet.k8s.io/v1beta1 APIVersion",
    saToken: true,
    providers: [
      {
        ...base,
        apiVersion: "credentialprovider.kubelet.k8s.io/v1beta1",
        tokenAttributes: sa("Token"),
      },
    ],
    expectErr: {
      path: "providers[0].tokenAttributes",
      text: "Forbidden: tokenAttributes is only supported for credentialprovider.kubelet.k8s.io/v1 API version",
    },
  },
];

function configText(providers: ProviderCase[]): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1",
    kind: "CredentialProviderConfig",
    providers,
  });
}

function check(
  text: string,
  kubelet = "v1.34.0",
): ReturnType<typeof checkCredentialProviderConfig> {
  const parsed = parseStrictYaml(text);
  if (!parsed.ok) return { config: null, problems: parsed.problems };
  return checkCredentialProviderConfig(parsed.value, { kubeletVersion: v(kubelet) });
}

function assertHas(
  problems: readonly { path: string; message: string }[],
  want: { path: string; text: string },
): void {
  assert.ok(
    problems.some((p) => p.path === want.path && p.message.includes(want.text)),
    `want ${want.path}: ${want.text}\ngot ${JSON.stringify(problems, null, 2)}`,
  );
}

describe("Test_readCredentialProviderConfig (kubelet config_test.go)", () => {
  for (const c of readCases) {
    it(c.name, () => {
      const r = check(c.data);
      if (c.expectErr === undefined) assert.deepEqual(r.problems, []);
      else {
        assert.equal(r.config, null);
        assertHas(r.problems, c.expectErr);
      }
    });
  }
});

describe("Test_validateCredentialProviderConfig (kubelet config_test.go)", () => {
  for (const c of validateCases) {
    it(c.name, () => {
      const r = check(configText(c.providers), c.saToken === true ? "v1.34.0" : "v1.33.4");
      if (c.expectErr === undefined) assert.deepEqual(r.problems, []);
      else {
        assert.equal(r.config, null);
        assertHas(r.problems, c.expectErr);
      }
    });
  }
});

describe("kubelet version rules", () => {
  const ok = configText([v1]);
  it("kubelet.config.k8s.io/v1 needs kubelet >= 1.26", () => {
    assert.deepEqual(check(ok, "v1.26.0").problems, []);
    assertHas(check(ok, "v1.25.9").problems, {
      path: "apiVersion",
      text: "needs kubelet >= v1.26",
    });
  });
  it("v1beta1 works on 1.24 and 1.25", () => {
    const beta = ok
      .replace("kubelet.config.k8s.io/v1", "kubelet.config.k8s.io/v1beta1")
      .replace("credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1");
    assert.deepEqual(check(beta, "v1.25.0").problems, []);
    assertHas(check(beta, "v1.23.0").problems, {
      path: "apiVersion",
      text: "needs kubelet >= v1.24",
    });
  });
  it("reports every problem at once", () => {
    const r = check(
      configText([
        { ...base, name: "a b", matchImages: [], defaultCacheDuration: "-1s", apiVersion: "x" },
      ]),
    );
    assert.ok(r.problems.length >= 4, JSON.stringify(r.problems));
  });
});

describe("long values are quoted by a prefix, not in full", () => {
  const long = "x".repeat(100_000);
  const table: [name: string, provider: ProviderCase, path: string][] = [
    ["a provider name with a space", { ...base, name: `${long} y` }, "providers[0].name"],
    ["an apiVersion", { ...base, apiVersion: long }, "providers[0].apiVersion"],
    ["a match image", { ...base, matchImages: [`%zz${long}`] }, "providers[0].matchImages[0]"],
    [
      "a cache duration",
      { ...base, defaultCacheDuration: long },
      "providers[0].defaultCacheDuration",
    ],
    ["an unknown field", { ...base, [long]: 1 }, `providers[0].${"x".repeat(64)}…`],
  ];
  for (const [name, provider, path] of table) {
    it(name, () => {
      const r = check(configText([provider]));
      const p = r.problems.find((q) => q.path === path);
      assert.ok(p, JSON.stringify(r.problems).slice(0, 500));
      assert.ok(p.message.length < 400, p.message.slice(0, 500));
      assert.match(p.message, /"[^"]{40}"… \(\d+ characters\)/);
    });
  }
  it("a short value is still quoted in full, as the kubelet does", () => {
    const r = check(configText([{ ...base, name: "a b" }]));
    assertHas(r.problems, { path: "providers[0].name", text: 'Invalid value: "a b"' });
  });
});

describe("the installer writes nothing for a config the kubelet would reject", async () => {
  const golden = (await listCases()).find((c) => c.name === "kubeadm-deb-double-quoted");
  assert.ok(golden);
  const invalid = [
    ...readCases
      .filter((c) => c.expectErr !== undefined)
      .map((c) => ({ name: c.name, text: c.data, kubelet: "v1.34.0", expectErr: c.expectErr })),
    ...validateCases
      .filter((c) => c.expectErr !== undefined)
      .map((c) => ({
        name: c.name,
        text: configText(c.providers),
        kubelet: c.saToken === true ? "v1.34.0" : "v1.33.4",
        expectErr: c.expectErr,
      })),
  ];
  const run = async (
    template: string,
    kubelet: string,
  ): Promise<{
    code: string | null;
    problems: readonly { path: string; message: string }[];
    changed: boolean;
  }> => {
    const dir = await mkdtemp(join(tmpdir(), "nodecred-invalid-"));
    const root = await inputTree(golden);
    try {
      const cm = join(dir, "cm.yaml");
      await writeFile(
        cm,
        stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "nodecred" },
          data: {
            matchImages: "foobar.registry.io",
            providerName: "foobar",
            credentialProviderConfigTemplate: template,
          },
        }),
      );
      const before = await snapshot(root);
      const r = await runInstaller([
        "apply",
        "--host-root",
        root,
        "--configmap",
        cm,
        "--secret",
        golden.secret,
        "--restart",
        "none",
        "--kubelet-version",
        kubelet,
        "--provider-binary",
        standInProvider,
      ]);
      const changed = diffSnapshots(before, await snapshot(root)).length > 0;
      return { code: r.error?.code ?? null, problems: r.error?.problems ?? [], changed };
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(root, { recursive: true, force: true });
    }
  };
  for (const c of invalid) {
    it(c.name, async () => {
      const r = await run(c.text, c.kubelet);
      assert.equal(r.code, "INVALID_INPUT");
      assert.equal(r.changed, false, "the host tree changed");
      assert.ok(
        r.problems.some(
          (p) =>
            p.path.endsWith(c.expectErr?.path ?? "") && p.message.includes(c.expectErr?.text ?? ""),
        ),
        JSON.stringify(r.problems, null, 2),
      );
    });
  }
  it("a valid template override is written (bad case beside good)", async () => {
    const r = await run(configText([{ ...v1 }]), "v1.31.0");
    assert.equal(r.code, null);
    assert.equal(r.changed, true);
  });
});
