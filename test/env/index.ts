/** Access to the running test environment (started by test/env/run.ts) from inside tests. */
import { readFileSync } from "node:fs";
import type { TestEnv } from "./types.ts";

export type { RegistryEnv, TestEnv } from "./types.ts";

let cached: TestEnv | undefined;

/** The environment of this test run. Throws with a clear message outside `npm test`. */
export function testEnv(): TestEnv {
  if (cached) return cached;
  const file = process.env["NODECRED_TEST_ENV"];
  if (file === undefined || file === "") {
    throw new Error(
      "NODECRED_TEST_ENV is not set: this test needs the real components; run it through " +
        "`npm test` or `node test/env/run.ts -- node --test <file>`",
    );
  }
  cached = JSON.parse(readFileSync(file, "utf8")) as TestEnv;
  return cached;
}
