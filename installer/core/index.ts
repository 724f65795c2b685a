/**
 * The pure core's public surface, for the node-side commands here and for the cluster-side
 * `run` (sync) loop: Secret → credentials, ConfigMap → validated settings + kubelet config hash,
 * both → policy file bytes,
 * settings + host facts → desired node state → plan.
 */
export { credentialsFromSecret, credentialsFromSecretText } from "./secret.ts";
export { parseSettings, settingsFromConfigMapText, type Settings } from "./configmap.ts";
export { desiredNodeState, type DesiredState, type NodeInputs } from "./desired-state.ts";
export {
  kubeletConfigHash,
  kubeletSpec,
  restartReasons,
  type KubeletSpec,
} from "./kubelet-config.ts";
export { envelopeFor, envelopePatterns, type Envelope } from "./envelope.ts";
export { nextPolicy, type NextPolicy, type PolicySources } from "./policy-file.ts";
export { parseCredentialSets, setConflicts, type CredentialSetSpec } from "./credential-sets.ts";
export { renderCredentialProviderConfig, defaultTemplate } from "./render-config.ts";
export { checkCredentialProviderConfig } from "./validate-config.ts";
export { planApply, planUninstall, type Plan } from "./plan.ts";
export { describePlan } from "./plan-diff.ts";
export { nodecredPaths, layoutFor, detectFlavour, type FlavourName } from "./flavour.ts";
export { formatProblem, type Problem, type Result } from "./problems.ts";
