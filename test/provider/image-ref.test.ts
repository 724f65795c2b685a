// The image name the kubelet matches and sends (core/image-ref.ts): a pod spec's image reference
// through the reference library's splitDockerDomain (ParseNormalizedNamed(...).Name()), as named
// cases. Upstream expectations from distribution/reference normalize_test.go where they exist.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { normalizeImage } from "../../provider/core/image-ref.ts";

const DIGEST = "sha256:" + "0123456789abcdef".repeat(4);

describe("normalizeImage", () => {
  const cases: readonly [string, string, string][] = [
    ["official image", "nginx", "docker.io/library/nginx"],
    ["official image with a tag", "nginx:1.27", "docker.io/library/nginx"],
    ["official image with a digest", `nginx@${DIGEST}`, "docker.io/library/nginx"],
    ["library/ given", "library/nginx", "docker.io/library/nginx"],
    ["Docker Hub user image", "user/app", "docker.io/user/app"],
    ["Docker Hub user image, nested", "user/app/sub:tag", "docker.io/user/app/sub"],
    ["legacy index.docker.io", "index.docker.io/x", "docker.io/library/x"],
    ["legacy index.docker.io with a user", "index.docker.io/user/x", "docker.io/user/x"],
    ["docker.io given", "docker.io/x", "docker.io/library/x"],
    ["already normalised", "docker.io/library/x", "docker.io/library/x"],
    ["registry with port and digest", `reg:5000/a/b@${DIGEST}`, "reg:5000/a/b"],
    ["registry with port and tag", "reg:5000/a/b:tag", "reg:5000/a/b"],
    ["registry with port, no tag", "reg:5000/a/b", "reg:5000/a/b"],
    ["tag and digest", `reg.io/a:1@${DIGEST}`, "reg.io/a"],
    ["localhost is a registry", "localhost/app", "localhost/app"],
    ["localhost with port", "localhost:5000/app:v1", "localhost:5000/app"],
    ["a dot makes a registry", "reg.io/app", "reg.io/app"],
    ["upper case first segment counts as a registry", "Upper/app", "Upper/app"],
    ["IPv6 registry with port", "[::1]:5000/app:v2", "[::1]:5000/app"],
    ["IPv4 registry with port", "10.0.0.5:5000/x/y:latest", "10.0.0.5:5000/x/y"],
    [
      "a host:port alone is a Docker Hub name with a tag",
      "reg.io:5000",
      "docker.io/library/reg.io",
    ],
  ];
  for (const [name, ref, want] of cases) {
    test(`${name}: ${ref}`, () => {
      assert.equal(normalizeImage(ref), want);
    });
  }
  test("normalising twice changes nothing", () => {
    for (const [, ref] of cases) {
      const once = normalizeImage(ref);
      assert.equal(normalizeImage(once), once, ref);
    }
  });
});
