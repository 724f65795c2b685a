// A KubeApi (installer/cluster/kube-api.ts) for tests that script the API server's answers: the
// calls a test scripts, and every other call fails, so a test sees what it did not expect.
import type { KubeApi } from "../../installer/cluster/kube-api.ts";

export function scriptedKubeApi(calls: Partial<KubeApi>): KubeApi {
  const unused = (): never => {
    throw new Error("not used here");
  };
  return {
    get: unused,
    watch: unused,
    watchCollection: unused,
    podTemplateAnnotation: unused,
    annotatePodTemplate: unused,
    event: unused,
    writeLease: unused,
    ...calls,
  };
}
