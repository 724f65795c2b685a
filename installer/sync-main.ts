#!/usr/bin/env node
import { entry } from "./cli/entry.ts";

/**
 * nodecred-installer with the `run` command only (dist/installer/nodecred-sync.mjs, the sync
 * container's command): the same command line, messages and exit codes as installer/main.ts, but
 * its bundle holds only what `run` loads. A long-running process keeps every module it evaluated
 * (and the bundle's source) in its heap; apply's modules (execa, the host shell) are
 * not among them. `apply` and `uninstall` are a usage error here: they are in
 * nodecred-installer.mjs.
 */
process.exitCode = await entry(null, process.argv.slice(2), process.env);
