// The command lines that ask for help, and the text each gets: one table for the parser
// (cli-config.test.ts) and for the built CLI (cli-help.test.ts), so the two layers answer alike.
import { usage, usageOf } from "../../installer/cli/commands.ts";

export const helpCases: readonly (readonly [argv: readonly string[], text: string])[] = [
  [["--help"], usage],
  [["-h"], usage],
  [["help"], usage],
  [["help", "apply"], usageOf("apply")],
  [["help", "uninstall"], usageOf("uninstall")],
  [["help", "run"], usageOf("run")],
  [["apply", "--help"], usageOf("apply")],
  [["uninstall", "--help"], usageOf("uninstall")],
  [["uninstall", "-h"], usageOf("uninstall")],
  [["run", "--help"], usageOf("run")],
  // --help wins over what else is wrong with the line.
  [["apply", "--bogus", "--host-root", "--help"], usageOf("apply")],
  [["run", "--listen=nonsense", "--help"], usageOf("run")],
  [["run", "-h", "--no-such-flag"], usageOf("run")],
  [["--host-root=/h", "uninstall", "--help"], usageOf("uninstall")],
];
