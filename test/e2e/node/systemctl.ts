/**
 * STAND-IN `systemctl` for the end-to-end node (a real systemd cannot run here): forwards its
 * arguments to the stand-in init (node-init.ts, PID 1 of the node's namespaces) over a unix socket,
 * with what /proc/1/cmdline says from where it runs, so the journal proves that our pod's
 * `nsenter --target 1 ... systemctl` reached the node's PID 1. Installed on the node as
 * /usr/local/bin/systemctl by a wrapper that sets NODECRED_E2E_INIT_SOCKET.
 */
import { readFileSync } from "node:fs";
import { connect } from "node:net";

const socketPath = process.env["NODECRED_E2E_INIT_SOCKET"] ?? "";
const pid1Cmdline = readFileSync("/proc/1/cmdline", "utf8").split("\0").join(" ").trim();
const args = process.argv.slice(2);
const conn = connect(socketPath);
let buf = "";
conn.on("connect", () => conn.write(`${JSON.stringify({ args, pid1Cmdline })}\n`));
conn.on("data", (d: Buffer) => (buf += d.toString()));
conn.on("end", () => {
  const reply = JSON.parse(buf) as { exitCode: number; stdout: string };
  if (!args.includes("--quiet") && reply.stdout !== "") process.stdout.write(`${reply.stdout}\n`);
  process.exit(reply.exitCode);
});
conn.on("error", (e) => {
  process.stderr.write(`stand-in systemctl: ${e.message}\n`);
  process.exit(1);
});
