// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Core members a door must not touch: everything but the façade, metrics, clock and logger. */
const CORE_INTERNALS =
  "/^(topics|subscriptions|sessions|messaging|locks|persistence|publish|updateTopic|addTopic|removeTopic|removeTopics|selectTopics|fetch|retained|onTopics|restore|start|stop|security)$/";

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/dist-before/**", // another build kept for before/after benchmarks (BENCH_SKEIN_CLI, --before)
      "**/node_modules/**",
      "docs/api/**",
      "bench/results/**",
      "packages/server/console/vendor/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["packages/*/src/**/*.ts"],
    ignores: ["**/*.test.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: true },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["**/*.test.ts", "packages/*/test/**/*.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off" },
  },
  {
    files: ["packages/protocol/src/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["node:*"], message: "protocol and core stay I/O-free: no node: imports" }] },
      ],
    },
  },
  // The core knows no door and no storage engine; doors plug into it, never into each other.
  {
    files: ["packages/server/src/core/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*"], message: "protocol and core stay I/O-free: no node: imports" },
            {
              group: ["**/mqtt/*", "**/sdk/*", "**/storage/*", "**/admin/*", "**/listeners.js"],
              message: "the core imports no door, listener or storage engine: they plug in through its ports",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["packages/server/src/mqtt/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/sdk/*"], message: "doors do not import each other" }] },
      ],
    },
  },
  {
    files: ["packages/server/src/sdk/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/mqtt/*"], message: "doors do not import each other" }] },
      ],
    },
  },
  // One choke point (DESIGN §7, issue 14 §1): doors reach the core through `core.facade` only, whose
  // every operation is checked; metrics, clock and logger stay at hand.
  {
    files: ["packages/server/src/{mqtt,sdk,admin}/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: `MemberExpression[property.name=${CORE_INTERNALS}]:matches([object.name='core'], [object.property.name='core'])`,
          message: "doors reach the core through core.facade, which checks every operation (DESIGN §7)",
        },
      ],
    },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        performance: "readonly",
        setImmediate: "readonly",
      },
    },
  },
  // The web console: plain ES modules that run in browsers.
  {
    files: ["packages/server/console/**/*.js"],
    languageOptions: {
      globals: Object.fromEntries(
        [
          "window",
          "document",
          "location",
          "fetch",
          "FormData",
          "URLSearchParams",
          "ResizeObserver",
          "requestAnimationFrame",
          "cancelAnimationFrame",
          "performance",
          "setTimeout",
          "clearTimeout",
        ].map((name) => [name, "readonly"]),
      ),
    },
  },
);
