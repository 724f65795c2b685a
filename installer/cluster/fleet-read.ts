import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
} from "@kubernetes/client-node";
import type { FleetInput, Json, Readable } from "../core/report/fleet-status.ts";
import { reportKeys } from "../core/report/node-report.ts";
import { errorText } from "../errors.ts";

/**
 * What `kubectl nodecred status` reads, with a user's own rights (a viewer's: `view` plus the
 * aggregated `nodecred-view`): the DaemonSet, its ControllerRevisions and pods (required), the
 * node reports (Leases), the ConfigMap, Warning Events and the Nodes (each may be forbidden: the
 * answer is then narrower and says why). Never a Secret. The other door to the API server beside
 * kube-api.ts (this folder holds the repo's only `@kubernetes/client-node` imports): it reads
 * kinds the installer's agents never do, with a person's kubeconfig.
 */

/** A kubeconfig as kubectl finds it: `--kubeconfig`, else $KUBECONFIG, else ~/.kube/config. */
export function userKubeConfig(file: string | null, context: string | null): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file === null) kc.loadFromDefault();
    else kc.loadFromFile(file);
  } catch (err) {
    throw new FleetReadError(
      `cannot load the kubeconfig${file === null ? "" : ` ${file}`}: ${errorText(err)}`,
      { cause: err },
    );
  }
  if (context !== null) {
    if (kc.getContextObject(context) === null) {
      throw new FleetReadError(`context "${context}" not found in the kubeconfig`);
    }
    kc.setCurrentContext(context);
  }
  if (kc.getCurrentCluster() === null) {
    throw new FleetReadError(
      "no cluster in the kubeconfig (pass --kubeconfig, set KUBECONFIG, or ~/.kube/config)",
    );
  }
  return kc;
}

/** A read that failed: the message names the request (verb, resource, namespace). */
export class FleetReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FleetReadError";
  }
}

const toPlain = (obj: unknown): Json => JSON.parse(JSON.stringify(obj)) as Json;

/** The API server's own message for a status error, without the request's body. */
function apiMessage(err: ApiException<unknown>): string {
  try {
    const body = JSON.parse(String(err.body)) as { message?: unknown };
    if (typeof body.message === "string") return body.message;
  } catch {
    // not JSON
  }
  return `HTTP ${String(err.code)}`;
}

export async function readFleet(
  kc: KubeConfig,
  options: {
    readonly namespace: string;
    readonly daemonSet: string;
    readonly configMap: string;
    readonly now: Date;
  },
): Promise<FleetInput> {
  const clients: Clients = {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
  const { namespace } = options;
  const daemonSet = await must(
    `get daemonsets.apps ${options.daemonSet} ${inNamespace(namespace)}`,
    () => readDaemonSet(clients.apps, namespace, options.daemonSet),
  );
  const matchLabels =
    (daemonSet["spec"] as { selector?: { matchLabels?: Record<string, string> } } | undefined)
      ?.selector?.matchLabels ?? {};
  const labelSelector = Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  // Both groups at once, as one set of requests: the first failure is the command's.
  const [required, optional] = await Promise.all([
    readPods(clients, namespace, labelSelector),
    readOptional(clients, namespace, options.configMap),
  ]);
  return {
    namespace,
    now: options.now,
    daemonSet,
    revisions: required.revisions,
    pods: required.pods,
    leases: optional.leases,
    configMap: optional.configMap,
    configMapName: options.configMap,
    nodes: optional.nodes,
    podEvents: optional.podEvents,
    nodeEvents: optional.nodeEvents,
  };
}

interface Clients {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly coordination: CoordinationV1Api;
}

const inNamespace = (namespace: string): string => `in namespace ${namespace}`;

/** A required read: any failure is the command's (exit 1), named. */
async function must<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new FleetReadError(failure(what, err), { cause: err });
  }
}

/** An optional read: forbidden → the answer without it; anything else fails the command. */
async function may<T>(what: string, call: () => Promise<T>): Promise<Readable<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    if (err instanceof ApiException && err.code === 403) return { forbidden: what };
    throw new FleetReadError(failure(what, err), { cause: err });
  }
}

/** The DaemonSet; not there (404) means nodecred is not installed in that namespace. */
async function readDaemonSet(apps: AppsV1Api, namespace: string, name: string): Promise<Json> {
  try {
    return toPlain(await apps.readNamespacedDaemonSet({ namespace, name }));
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) {
      throw new FleetReadError(
        `DaemonSet ${name} not found ${inNamespace(namespace)}: is nodecred installed there? (-n NAMESPACE)`,
      );
    }
    throw err;
  }
}

/** The DaemonSet's ControllerRevisions and pods: without them there is no status to show. */
async function readPods(
  { core, apps }: Clients,
  namespace: string,
  labelSelector: string,
): Promise<Pick<FleetInput, "revisions" | "pods">> {
  const inNs = inNamespace(namespace);
  const [revisions, pods] = await Promise.all([
    must(`list controllerrevisions.apps ${inNs}`, async () =>
      (await apps.listNamespacedControllerRevision({ namespace, labelSelector })).items.map(
        toPlain,
      ),
    ),
    must(`list pods ${inNs}`, async () =>
      (await core.listNamespacedPod({ namespace, labelSelector })).items.map(toPlain),
    ),
  ]);
  return { revisions, pods };
}

/** What a viewer may be refused: the node reports, the ConfigMap, the Nodes, Warning Events. */
async function readOptional(
  { core, coordination }: Clients,
  namespace: string,
  configMapName: string,
): Promise<Pick<FleetInput, "leases" | "configMap" | "nodes" | "podEvents" | "nodeEvents">> {
  const inNs = inNamespace(namespace);
  const [leases, configMap, nodes, podEvents, nodeEvents] = await Promise.all([
    may(`list leases.coordination.k8s.io ${inNs}`, async () =>
      (
        await coordination.listNamespacedLease({
          namespace,
          labelSelector: `${reportKeys.name}=nodecred`,
        })
      ).items.map(toPlain),
    ),
    may(`get configmaps ${configMapName} ${inNs}`, async () => {
      try {
        return toPlain(await core.readNamespacedConfigMap({ namespace, name: configMapName }));
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return null;
        throw err;
      }
    }),
    may("list nodes (cluster-wide)", async () =>
      (await core.listNode()).items.flatMap((n) =>
        n.metadata?.name === undefined ? [] : [n.metadata.name],
      ),
    ),
    may(`list events ${inNs}`, async () =>
      (await core.listNamespacedEvent({ namespace, fieldSelector: "type=Warning" })).items.map(
        toPlain,
      ),
    ),
    may("list events in namespace default", async () =>
      (
        await core.listNamespacedEvent({
          namespace: "default",
          fieldSelector: "involvedObject.kind=Node,type=Warning",
        })
      ).items.map(toPlain),
    ),
  ]);
  return { leases, configMap, nodes, podEvents, nodeEvents };
}

function failure(what: string, err: unknown): string {
  if (err instanceof FleetReadError) return err.message;
  if (err instanceof ApiException) {
    const code = err.code;
    if (code === 401)
      return `${what}: unauthorized (401): the kubeconfig's credentials were refused`;
    if (code === 403) return `${what}: forbidden (403): ${apiMessage(err)}`;
    return `${what}: ${apiMessage(err)} (${String(code)})`;
  }
  return `${what}: ${errorText(err)}`;
}
