/** The kubelet's version, as far as config compatibility is concerned. */
export interface KubeletVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly text: string;
}

/**
 * Accepts what `kubelet --version` (`Kubernetes v1.31.2`), `k3s --version`
 * (`k3s version v1.31.2+k3s1 (...)`) and people (`1.31`, `v1.31.2-eks-1234`) print.
 */
export function parseKubeletVersion(text: string): KubeletVersion | null {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (m === null) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = m[3] === undefined ? 0 : Number(m[3]);
  return { major, minor, patch, text: `v${major}.${minor}.${patch}` };
}

export function atLeast(v: KubeletVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}
