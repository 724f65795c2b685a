// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import nodecred, { entryPoints, readsNoEnvironment } from "./lint/boundaries.ts";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "**/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { nodecred },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          // node:test's describe/it return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] },
          ],
        },
      ],
      "@typescript-eslint/explicit-module-boundary-types": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      // @kubernetes/client-node's generated models are classes used as plain data (the client
      // serialises object literals); this rule would forbid its documented usage.
      "@typescript-eslint/no-unsafe-class-instance-assignment": "off",
      // Which folder may import what (lint/boundaries.ts, CONTRIBUTING.md "Architecture").
      "nodecred/boundaries": "error",
    },
  },
  {
    // Product code: functions small enough to read whole (a longer one is split along what its
    // parts decide, named for it), and configuration read once, at the entry points.
    files: ["installer/**/*.ts", "provider/**/*.ts", "scripts/**/*.ts"],
    rules: {
      complexity: ["error", 20],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ["installer/**/*.ts", "provider/**/*.ts"],
    ignores: entryPoints,
    rules: { "no-restricted-properties": readsNoEnvironment },
  },
);
