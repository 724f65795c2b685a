import { FleetReadError, readFleet, userKubeConfig } from "../cluster/fleet-read.ts";
import { fleetStatus } from "../core/report/fleet-status.ts";
import { fleetJson, fleetTable } from "../core/report/fleet-table.ts";
import { errorText } from "../errors.ts";

/**
 * `kubectl nodecred`: the kubectl plugin (dist/kubectl-nodecred; kubectl runs any
 * `kubectl-<name>` on PATH as `kubectl <name>`). One command, `status`: the fleet as a viewer
 * sees it (core/report/fleet-status.ts). Exit 0 when the cluster answered, whatever the fleet's state;
 * 1 when a read failed (the message names the request); 2 on a bad command line.
 */

export const kubectlUsage = `Usage: kubectl nodecred status [--kubeconfig FILE] [--context NAME] [-n NAMESPACE] [-o table|json]

Shows each node's nodecred state: its pod, whether it is ready and current (the kubelet config it
runs, the ConfigMap and Secret versions its policy file holds), and why not, in words; then the
fleet: how many nodes are current and how the rollout stands.

  --kubeconfig FILE   kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config)
  --context NAME      kubeconfig context to use (default: its current context)
  -n, --namespace NS  nodecred's namespace (default: nodecred)
  -o, --output FMT    table (default) or json (installer/README.md "kubectl nodecred status")
  -h, --help          this help

Needs read access to nodecred's namespace (the view ClusterRole) and its Leases (nodecred-view,
aggregated into view); Nodes and the Node Events in namespace default are read when allowed.
Exit codes: 0 the cluster answered (whatever the fleet's state), 1 a read failed, 2 bad usage.
`;

export interface StatusOptions {
  readonly kubeconfig: string | null;
  readonly context: string | null;
  readonly namespace: string;
  readonly output: "table" | "json";
}

export type KubectlCommand =
  | { readonly kind: "help" }
  | { readonly kind: "usage-error"; readonly problems: readonly string[] }
  | { readonly kind: "status"; readonly options: StatusOptions };

/** argv (after the program) → what to do; every problem at once. */
export function parseKubectlArgs(argv: readonly string[]): KubectlCommand {
  const { values, positional, help, problems } = scanArgs(argv);
  if (help || positional[0] === "help") return { kind: "help" };
  const wrongCommand = commandProblem(positional);
  if (wrongCommand !== null) problems.push(wrongCommand);
  const output = values.output ?? "table";
  if (output !== "table" && output !== "json") {
    problems.push(`-o ${output}: must be table or json`);
  }
  if (problems.length > 0) return { kind: "usage-error", problems };
  return {
    kind: "status",
    options: {
      kubeconfig: values.kubeconfig ?? null,
      context: values.context ?? null,
      namespace: values.namespace ?? "nodecred",
      output: output === "json" ? "json" : "table",
    },
  };
}

interface FlagValues {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  output?: string;
}

/** Each flag that takes a value, by every spelling, and what it sets. */
const valueFlags: Readonly<Record<string, keyof FlagValues>> = {
  "--kubeconfig": "kubeconfig",
  "--context": "context",
  "-n": "namespace",
  "--namespace": "namespace",
  "-o": "output",
  "--output": "output",
};

/** argv read left to right: flag values (`--flag value`, `--flag=value`), positionals, -h. */
function scanArgs(argv: readonly string[]): {
  values: FlagValues;
  positional: string[];
  help: boolean;
  problems: string[];
} {
  const problems: string[] = [];
  const values: FlagValues = {};
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const key = valueFlags[flag];
    if (key !== undefined) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === "") problems.push(`${flag}: needs a value`);
      else values[key] = value;
      continue;
    }
    if (arg.startsWith("-") && arg !== "-") {
      problems.push(`${flag}: unknown flag`);
      continue;
    }
    positional.push(arg);
  }
  return { values, positional, help, problems };
}

/** The one command there is, `status`, and no argument after it; null when that is what came. */
function commandProblem(positional: readonly string[]): string | null {
  if (positional.length === 0) return "a command is required: status";
  if (positional[0] !== "status") return `${positional[0] ?? ""}: unknown command`;
  if (positional.length > 1) return `${positional[1] ?? ""}: unexpected argument`;
  return null;
}

export async function kubectlNodecred(
  argv: readonly string[],
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  const command = parseKubectlArgs(argv);
  switch (command.kind) {
    case "help":
      out(kubectlUsage);
      return 0;
    case "usage-error":
      err(`kubectl nodecred: ${command.problems.join("; ")}\n\n${kubectlUsage}`);
      return 2;
    case "status":
      break;
  }
  const { options } = command;
  try {
    const kc = userKubeConfig(options.kubeconfig, options.context);
    const input = await readFleet(kc, {
      namespace: options.namespace,
      daemonSet: "nodecred",
      configMap: "nodecred-config",
      now: new Date(),
    });
    const status = fleetStatus(input);
    out(options.output === "json" ? fleetJson(status) : fleetTable(status));
    return 0;
  } catch (e) {
    const message =
      e instanceof FleetReadError ? e.message : `cannot read the fleet: ${errorText(e)}`;
    err(`kubectl nodecred status: ${message}\n`);
    return 1;
  }
}
