// The sync container's decoded Secrets (installer/sync/secret-decoder.ts): a Secret is decoded
// once per version, only when a credential set (or the default) refers to it, and forgotten when
// no longer referred to.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { credentialsFromSecret } from "../../installer/core/settings/secret.ts";
import { secretDecoder } from "../../installer/sync/secret-decoder.ts";
import { dockerConfigSecret } from "./cluster.ts";

type Obj = Readonly<Record<string, unknown>>;

function versioned(
  name: string,
  resourceVersion: string,
  password: string,
  uid = `uid-${name}`,
): Obj {
  const body = dockerConfigSecret(name, "nodecred", {
    "registry.example.com": { username: "u", password },
  });
  return { ...body, metadata: { ...body.metadata, resourceVersion, uid } };
}

function counting(): { read: typeof credentialsFromSecret; names: string[] } {
  const names: string[] = [];
  return {
    names,
    read: (secret) => {
      names.push((secret as { metadata: { name: string } }).metadata.name);
      return credentialsFromSecret(secret);
    },
  };
}

describe("secretDecoder", () => {
  it("decodes a referenced Secret once per version", () => {
    const { read, names } = counting();
    const decoder = secretDecoder(read);
    let objects = new Map<string, Obj>([
      ["nodecred-credentials", versioned("nodecred-credentials", "1", "pw-default-1")],
      ["team-a", versioned("team-a", "2", "pw-a-1")],
      ["unrelated", { metadata: { name: "unrelated", resourceVersion: "3" }, type: "Opaque" }],
    ]);
    const first = decoder.decode(objects, ["nodecred-credentials", "team-a", "team-a"]);
    assert.deepEqual(names, ["nodecred-credentials", "team-a"], "each once, nothing unreferenced");
    assert.deepEqual([...first.keys()], ["nodecred-credentials", "team-a"]);
    const a = first.get("team-a");
    assert.ok(a?.credentials.ok);
    assert.equal(a.credentials.value[0]?.password, "pw-a-1");
    assert.equal(a.resourceVersion, "2");

    // Every later pass with the same versions: nothing decoded again, the same answer.
    for (let i = 0; i < 3; i++) {
      const again = decoder.decode(objects, ["nodecred-credentials", "team-a"]);
      assert.equal(again.get("team-a"), a);
    }
    assert.equal(names.length, 2);

    // A new version is decoded; the other stays remembered.
    objects = new Map(objects).set("team-a", versioned("team-a", "7", "pw-a-2"));
    const rotated = decoder.decode(objects, ["nodecred-credentials", "team-a"]);
    assert.deepEqual(names.slice(2), ["team-a"]);
    const a2 = rotated.get("team-a");
    assert.ok(a2?.credentials.ok);
    assert.equal(a2.credentials.value[0]?.password, "pw-a-2");
  });

  it("answers nothing for a Secret that does not exist, and keeps no unreferenced one", () => {
    const { read, names } = counting();
    const decoder = secretDecoder(read);
    const objects = new Map<string, Obj>([
      ["nodecred-credentials", versioned("nodecred-credentials", "1", "pw-d")],
      ["team-a", versioned("team-a", "2", "pw-a")],
    ]);
    assert.deepEqual([...decoder.decode(objects, ["team-a", "missing"]).keys()], ["team-a"]);
    // team-a no longer referred to: forgotten, so referring to it again decodes it again.
    decoder.decode(objects, ["nodecred-credentials"]);
    decoder.decode(objects, ["team-a"]);
    assert.deepEqual(names, ["team-a", "nodecred-credentials", "team-a"]);
  });

  it("decodes again a Secret recreated under the same name (another uid)", () => {
    const { read, names } = counting();
    const decoder = secretDecoder(read);
    decoder.decode(new Map([["s", versioned("s", "5", "pw-1", "uid-1")]]), ["s"]);
    decoder.decode(new Map([["s", versioned("s", "5", "pw-2", "uid-2")]]), ["s"]);
    assert.deepEqual(names, ["s", "s"]);
  });

  it("reports an invalid Secret's problems with its version, never a credential", () => {
    const decoder = secretDecoder();
    const bad: Obj = {
      metadata: { name: "team-b", resourceVersion: "9", uid: "u-b" },
      type: "kubernetes.io/dockerconfigjson",
      data: {
        ".dockerconfigjson": Buffer.from(
          JSON.stringify({ auths: { "r.example.com": { auth: "%%%secret-ish" } } }),
        ).toString("base64"),
      },
    };
    const decoded = decoder.decode(new Map([["team-b", bad]]), ["team-b"]).get("team-b");
    assert.ok(decoded && !decoded.credentials.ok);
    assert.equal(decoded.resourceVersion, "9");
    assert.equal(decoded.uid, "u-b");
    assert.ok(!JSON.stringify(decoded.credentials.problems).includes("secret-ish"));
  });
});
