#!/usr/bin/env node
import { kubectlNodecred } from "./cli/kubectl-nodecred.ts";

/**
 * `kubectl nodecred` (dist/kubectl-nodecred: one CommonJS bundle for Node 20+, since an operator's
 * machine runs the current LTS rather than the Node of nodecred's image, and a file without an
 * extension and outside any package is CommonJS to Node 20: hence no top-level await here).
 * kubectl runs it as a plugin when it is on PATH. Reads with the user's kubeconfig; writes nothing.
 */
void kubectlNodecred(
  process.argv.slice(2),
  (text) => process.stdout.write(text),
  (text) => process.stderr.write(text),
).then((code) => {
  process.exitCode = code;
});
