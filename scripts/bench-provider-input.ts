/**
 * Writes the largest input the provider accepts (test/provider/large-input.ts) for
 * scripts/bench-provider: DIR/large-policy.json (just under MAX_FILE_BYTES, many keys and one
 * 1 MiB key) and DIR/large-request.json (an image a rule matches, so every key is looked at).
 * Prints "BYTES KEYS".
 * Usage: node scripts/bench-provider-input.ts DIR
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { largeInput } from "../test/provider/large-input.ts";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: bench-provider-input.ts DIR");
const input = largeInput();
writeFileSync(join(dir, "large-policy.json"), input.policy);
writeFileSync(join(dir, "large-request.json"), input.request);
console.log(`${String(input.policy.length)} ${String(input.keys)}`);
