/** A throw-away PKI for one test run, made with the openssl CLI (EC P-256: fast to generate). */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export interface CertRequest {
  readonly commonName: string;
  readonly organization?: string;
  /** Subject alternative names, e.g. `IP:127.0.0.1`, `DNS:localhost`. */
  readonly altNames?: readonly string[];
  readonly usage: "server" | "client";
}

function openssl(args: readonly string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export function newPrivateKey(path: string): string {
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path]);
  return path;
}

/** The public half of a private key, PEM (for kube-apiserver's --service-account-key-file). */
export function publicKeyOf(privateKey: string, path: string): string {
  openssl(["pkey", "-in", privateKey, "-pubout", "-out", path]);
  return path;
}

export function newCA(dir: string, name: string): KeyPair {
  const key = newPrivateKey(join(dir, `${name}.key`));
  const cert = join(dir, `${name}.crt`);
  openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { cert, key };
}

export function issueCert(ca: KeyPair, dir: string, name: string, req: CertRequest): KeyPair {
  const key = newPrivateKey(join(dir, `${name}.key`));
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  const subject = `/CN=${req.commonName}` + (req.organization ? `/O=${req.organization}` : "");
  openssl(["req", "-new", "-key", key, "-out", csr, "-subj", subject]);
  const lines = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${req.usage === "server" ? "serverAuth" : "clientAuth"}`,
  ];
  if (req.altNames?.length) lines.push(`subjectAltName=${req.altNames.join(",")}`);
  writeFileSync(ext, lines.join("\n") + "\n");
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-out",
    cert,
    "-days",
    "2",
    "-extfile",
    ext,
  ]);
  return { cert, key };
}
