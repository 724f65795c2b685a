#!/usr/bin/env node
import { runCommand } from "./cli/commands.ts";
import { entry } from "./cli/entry.ts";

/**
 * nodecred-installer: see installer/README.md for commands, exit codes and messages. Every
 * command; the sync container runs `run` from its own bundle (installer/sync-main.ts).
 */
process.exitCode = await entry(
  (config, log) => runCommand(config, log, (text) => process.stdout.write(text)),
  process.argv.slice(2),
  process.env,
);
