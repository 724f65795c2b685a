/** A real registry (Debian's docker-registry, distribution v2) with htpasswd basic auth. */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { startDaemon, waitUntil, type Daemon } from "./daemon.ts";
import { freePort } from "./ports.ts";
import type { KeyPair } from "./pki.ts";
import type { RegistryEnv } from "./types.ts";

export interface RegistryOptions {
  readonly dir: string;
  readonly name: string;
  readonly username: string;
  readonly password: string;
  /** Serve TLS with this key pair; the CA file is what clients must trust. */
  readonly tls?: { readonly pair: KeyPair; readonly caFile: string; readonly caDir: string };
  /** No authentication at all (a public registry); username and password are then unused. */
  readonly anonymous?: boolean;
  /**
   * Where to listen (default 127.0.0.1 and a free port). Another loopback address lets a second
   * registry share a port with the first, as two registry hosts behind the same port do.
   */
  readonly listen?: { readonly ip: string; readonly port: number };
  /** More accounts besides `username` (each in htpasswd); `authorizedUsers()` tells who pulled. */
  readonly moreUsers?: readonly { readonly username: string; readonly password: string }[];
}

/** One htpasswd line with a bcrypt hash, as `htpasswd -B` writes it. */
export function htpasswdLine(username: string, password: string): string {
  // -i reads the password from stdin so it never appears in a process listing.
  return execFileSync("htpasswd", ["-niB", username], { input: password, encoding: "utf8" }).trim();
}

export interface RegistryInstance {
  /** The running process; replaced by `rotatePassword`. */
  readonly daemon: Daemon;
  readonly env: RegistryEnv;
  /**
   * Changes the registry's password for real: rewrites the htpasswd file and restarts the registry
   * on the same address and storage (distribution 2.8 reads htpasswd only at start). From then on
   * the old password is refused.
   */
  rotatePassword(password: string): Promise<RegistryEnv>;
  /**
   * The accounts of the repository requests the registry served, one per request, in order, from
   * its log (`auth.user.name`, logged with a request's storage reads; never a password).
   * Only recorded for a registry started with `moreUsers`.
   */
  authorizedUsers(): string[];
  stop(): Promise<void>;
}

export async function startRegistry(opts: RegistryOptions): Promise<RegistryInstance> {
  const dir = join(opts.dir, opts.name);
  mkdirSync(join(dir, "storage"), { recursive: true });
  const ip = opts.listen?.ip ?? "127.0.0.1";
  const port = opts.listen?.port ?? (await freePort());
  const htpasswdFile = join(dir, "htpasswd");
  const tls = opts.tls
    ? `  tls:\n    certificate: ${opts.tls.pair.cert}\n    key: ${opts.tls.pair.key}\n`
    : "";
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      // debug: the storage reads of each authorized request name its account (authorizedUsers).
      `  level: ${opts.moreUsers === undefined ? "warn" : "debug"}`,
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "storage")}`,
      "http:",
      `  addr: ${ip}:${port}`,
      `  secret: ${opts.name}-not-a-secret`,
      tls.trimEnd(),
      ...(opts.anonymous === true
        ? []
        : ["auth:", "  htpasswd:", "    realm: nodecred-test", `    path: ${htpasswdFile}`]),
      "",
    ]
      .filter((line) => line !== "")
      .join("\n") + "\n",
  );
  const base = {
    host: `${ip}:${port}`,
    scheme: opts.tls ? "https" : "http",
    username: opts.username,
    htpasswdFile,
    ...(opts.tls ? { caFile: opts.tls.caFile, caDir: opts.tls.caDir } : {}),
  } as const;
  const launch = async (password: string): Promise<{ daemon: Daemon; env: RegistryEnv }> => {
    const accounts = [{ username: opts.username, password }, ...(opts.moreUsers ?? [])];
    writeFileSync(
      htpasswdFile,
      accounts.map((a) => htpasswdLine(a.username, a.password) + "\n").join(""),
      { mode: 0o600 },
    );
    const daemon = startDaemon(`registry-${opts.name}`, ["docker-registry", "serve", config], {
      logFile: join(dir, "registry.log"),
    });
    const env: RegistryEnv = { ...base, password };
    // Up = /v2/ answers an anonymous request: 401, or 200 for a registry without authentication.
    const up = opts.anonymous === true ? 200 : 401;
    await waitUntil(daemon, "/v2/ to answer", async () => (await registryGet(env, "/v2/")) === up);
    return { daemon, env };
  };
  let current = await launch(opts.password);
  return {
    get daemon() {
      return current.daemon;
    },
    get env() {
      return current.env;
    },
    async rotatePassword(password: string): Promise<RegistryEnv> {
      await current.daemon.stop();
      current = await launch(password);
      return current.env;
    },
    authorizedUsers(): string[] {
      let log: string;
      try {
        log = readFileSync(join(dir, "registry.log"), "utf8");
      } catch {
        return [];
      }
      // One entry per request (its id), in order: storage reads of a request log its account at
      // debug level, error responses at any level.
      const byRequest = new Map<string, string>();
      for (const line of log.split("\n")) {
        const user = /auth\.user\.name="?([^" ]+)"?/.exec(line)?.[1];
        const id = /http\.request\.id=([\w-]+)/.exec(line)?.[1];
        if (user !== undefined && id !== undefined && !byRequest.has(id)) byRequest.set(id, user);
      }
      return [...byRequest.values()];
    },
    stop: () => current.daemon.stop(),
  };
}

/**
 * Status code of a GET against the registry, with optional basic-auth credentials. Used by the
 * environment's readiness probe and by the smoke tests.
 */
export async function registryGet(
  env: RegistryEnv,
  path: string,
  creds?: { username: string; password: string },
  headers: Record<string, string> = {},
): Promise<number> {
  const auth = creds
    ? {
        authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`,
      }
    : {};
  const url = `${env.scheme}://${env.host}${path}`;
  const options = {
    method: "GET",
    headers: { ...headers, ...auth },
    ...(env.caFile ? { ca: readFileSync(env.caFile) } : {}),
  };
  const request = env.scheme === "https" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      res.resume();
      res.once("end", () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.once("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.end();
  });
}
