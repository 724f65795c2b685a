/**
 * The kubelet's healthz, over HTTP: no process, so the sync container (`run`, which only reads
 * it) does not load ./kubelet-control.ts and its execa.
 */

/** GET the kubelet's healthz; true only for a 200 within 2 s. */
export async function healthzOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}
