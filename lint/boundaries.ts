/**
 * nodecred/boundaries: which folder may import what — the architecture of CONTRIBUTING.md
 * "Folders and what each may import", as a lint rule. A pure core and a thin shell with one door
 * per side effect: only installer/process/ imports execa, only installer/cluster/ imports
 * @kubernetes/client-node, installer/core/ and provider/core/ import no I/O at all. Each product
 * file belongs to the room with the longest matching prefix; scripts/ and test/ may import
 * anything (they are not shipped). test/ship/lint-boundaries.test.ts shows the rule failing.
 */
import type { Rule } from "eslint";
import type { Node } from "estree";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * A room: its files (a path prefix, or one file) and what they may import: folders (ending in
 * `/`) and files of the repository, packages by name, `node:*` for Node's built-in modules.
 */
export interface Room {
  readonly room: string;
  readonly may: readonly string[];
}

export const rooms: readonly Room[] = [
  // Bundled into QuickJS: its siblings only (no Node, no npm; test/provider/purity.test.ts adds
  // the globals QuickJS lacks).
  { room: "provider/core/", may: ["provider/core/"] },
  // The provider's shell on Node and on QuickJS (std and os are QuickJS's own modules).
  { room: "provider/io/", may: ["provider/core/", "provider/io/", "node:fs", "std", "os"] },
  { room: "provider/main-", may: ["provider/core/", "provider/io/"] },
  // Values in, values out: the kubelet's rules from provider/core, the libraries it computes with.
  {
    room: "installer/core/",
    may: ["installer/core/", "provider/core/", "yaml", "handlebars", "node:crypto"],
  },
  { room: "installer/errors.ts", may: ["installer/core/"] },
  { room: "installer/log.ts", may: ["installer/core/", "pino"] },
  // The only door to processes.
  {
    room: "installer/process/",
    may: ["installer/process/", "installer/core/", "installer/errors.ts", "execa", "node:*"],
  },
  // The only door to the API server.
  {
    room: "installer/cluster/",
    may: [
      "installer/cluster/",
      "installer/core/",
      "installer/errors.ts",
      "@kubernetes/client-node",
      "node:*",
    ],
  },
  // Host files: host-paths.ts maps them, atomic-write.ts writes them.
  {
    room: "installer/host/",
    may: [
      "installer/host/",
      "installer/core/",
      "installer/process/",
      "provider/core/",
      "installer/errors.ts",
      "installer/log.ts",
      "node:*",
    ],
  },
  // The sync container: no apply, no processes (its bundle stays small: test/ship/bundles.test.ts).
  {
    room: "installer/sync/",
    may: [
      "installer/sync/",
      "installer/core/",
      "installer/cluster/",
      "installer/host/atomic-write.ts",
      "installer/host/host-paths.ts",
      "installer/process/healthz.ts",
      "provider/core/",
      "installer/errors.ts",
      "installer/log.ts",
      "prom-client",
      "node:*",
    ],
  },
  // argv and environment into one frozen config, output, exit codes.
  { room: "installer/cli/", may: ["installer/", "provider/core/", "node:*"] },
  // The entry points (main.ts, sync-main.ts, kubectl-main.ts).
  { room: "installer/", may: ["installer/"] },
];

/** The room of a repository-relative file, or undefined (scripts/, test/: unrestricted). */
export function roomOf(file: string): Room | undefined {
  return rooms
    .filter((r) => file.startsWith(r.room))
    .sort((a, b) => b.room.length - a.room.length)[0];
}

/** What a specifier names: a repository path for a relative one, else the package or `node:` module. */
export function targetOf(file: string, specifier: string): string {
  if (specifier.startsWith(".")) return normalize(join(dirname(file), specifier));
  if (specifier.startsWith("node:")) return specifier;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/** Whether a room may import a target. */
export function mayImport(room: Room, target: string): boolean {
  return room.may.some((m) =>
    m === "node:*"
      ? target.startsWith("node:")
      : m.endsWith("/")
        ? target.startsWith(m)
        : target === m,
  );
}

export const boundaries: Rule.RuleModule = {
  meta: {
    type: "problem",
    docs: { description: "which folder may import what (CONTRIBUTING.md, lint/boundaries.ts)" },
    schema: [],
    messages: {
      outside:
        "{{file}} is in {{room}}, which may import only {{may}}; not {{target}} (lint/boundaries.ts)",
    },
  },
  create(context) {
    const file = relative(repo, context.filename);
    const room = roomOf(file);
    if (room === undefined) return {};
    const check = (node: Node, specifier: unknown): void => {
      if (typeof specifier !== "string") return;
      const target = targetOf(file, specifier);
      if (mayImport(room, target)) return;
      context.report({
        node,
        messageId: "outside",
        data: { file, room: room.room, may: room.may.join(", "), target },
      });
    };
    return {
      ImportDeclaration: (n) => {
        check(n.source, n.source.value);
      },
      ExportNamedDeclaration: (n) => {
        if (n.source) check(n.source, n.source.value);
      },
      ExportAllDeclaration: (n) => {
        check(n.source, n.source.value);
      },
      ImportExpression: (n) => {
        if (n.source.type === "Literal") check(n.source, n.source.value);
      },
    };
  },
};

/** The entry points: the only product files that read the process's environment. */
export const entryPoints: string[] = [
  "installer/main.ts",
  "installer/sync-main.ts",
  "installer/kubectl-main.ts",
];

/** no-restricted-properties for product code outside the entry points. */
export const readsNoEnvironment: ["error", { object: string; property: string; message: string }] =
  [
    "error",
    {
      object: "process",
      property: "env",
      message:
        "configuration is read once, at the entry point (installer/*main.ts), into one frozen config",
    },
  ];

const plugin: { readonly rules: Record<string, Rule.RuleModule> } = { rules: { boundaries } };
export default plugin;
