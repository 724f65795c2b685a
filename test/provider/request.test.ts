// CredentialProviderRequest parsing; request bytes as in upstream plugin_test.go Test_encodeRequest.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseRequest } from "../../provider/core/request.ts";

const V1 = "credentialprovider.kubelet.k8s.io/v1";

describe("parseRequest", () => {
  test("upstream Test_encodeRequest bytes", () => {
    const got = parseRequest(
      `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"test.registry.io/foobar"}\n`,
    );
    assert.deepEqual(got, {
      ok: true,
      request: { apiVersion: V1, image: "test.registry.io/foobar" },
    });
  });
  for (const v of ["v1", "v1beta1", "v1alpha1"]) {
    test(`apiVersion ${v}`, () => {
      const apiVersion = `credentialprovider.kubelet.k8s.io/${v}`;
      const got = parseRequest(
        JSON.stringify({ kind: "CredentialProviderRequest", apiVersion, image: "a/b" }),
      );
      assert.ok(got.ok);
      assert.equal(got.request.apiVersion, apiVersion);
    });
  }
  test("KEP-4412 service account fields are accepted", () => {
    const got = parseRequest(
      JSON.stringify({
        kind: "CredentialProviderRequest",
        apiVersion: V1,
        image: "reg.io/a",
        serviceAccountToken: "tok",
        serviceAccountAnnotations: { "example.com/role": "puller" },
      }),
    );
    assert.ok(got.ok);
    assert.equal(got.request.serviceAccountToken, "tok");
    assert.deepEqual(got.request.serviceAccountAnnotations, { "example.com/role": "puller" });
  });
  test("unknown fields are ignored", () => {
    assert.ok(
      parseRequest(
        JSON.stringify({ kind: "CredentialProviderRequest", apiVersion: V1, image: "a", x: 1 }),
      ).ok,
    );
  });
  const bad: readonly [string, string, string][] = [
    ["not JSON", "nope", "request is not valid JSON"],
    ["empty stdin", "", "request is not valid JSON"],
    ["two documents", '{"a":1}{"a":2}', "request is not valid JSON"],
    ["array", "[]", "request must be a JSON object"],
    ["missing kind", JSON.stringify({ apiVersion: V1, image: "a" }), "request has no kind"],
    [
      "wrong kind",
      JSON.stringify({ kind: "CredentialProviderResponse", apiVersion: V1, image: "a" }),
      "request kind is",
    ],
    [
      "kind is case-sensitive",
      JSON.stringify({ kind: "credentialproviderrequest", apiVersion: V1, image: "a" }),
      "request kind is",
    ],
    [
      "unknown apiVersion",
      JSON.stringify({
        kind: "CredentialProviderRequest",
        apiVersion: "credentialprovider.kubelet.k8s.io/v2",
        image: "a",
      }),
      "is not supported",
    ],
    [
      "missing apiVersion",
      JSON.stringify({ kind: "CredentialProviderRequest", image: "a" }),
      "apiVersion is missing",
    ],
    [
      "missing image",
      JSON.stringify({ kind: "CredentialProviderRequest", apiVersion: V1 }),
      "request image must be a non-empty string",
    ],
    [
      "empty image",
      JSON.stringify({ kind: "CredentialProviderRequest", apiVersion: V1, image: "" }),
      "request image must be a non-empty string",
    ],
    [
      "image not a string",
      JSON.stringify({ kind: "CredentialProviderRequest", apiVersion: V1, image: 5 }),
      "request image must be a non-empty string",
    ],
    [
      "token not a string",
      JSON.stringify({
        kind: "CredentialProviderRequest",
        apiVersion: V1,
        image: "a",
        serviceAccountToken: 1,
      }),
      "serviceAccountToken must be a string",
    ],
    [
      "annotations not strings",
      JSON.stringify({
        kind: "CredentialProviderRequest",
        apiVersion: V1,
        image: "a",
        serviceAccountAnnotations: { a: 1 },
      }),
      "serviceAccountAnnotations must map strings to strings",
    ],
  ];
  for (const [name, text, want] of bad) {
    test(`bad: ${name}`, () => {
      const got = parseRequest(text);
      assert.ok(!got.ok);
      assert.ok(got.reason.includes(want), got.reason);
    });
  }
  test("a long kind is cut short in the reason", () => {
    const got = parseRequest(JSON.stringify({ kind: "x".repeat(500), apiVersion: V1, image: "a" }));
    assert.ok(!got.ok);
    assert.ok(got.reason.length < 200);
  });
});
