import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

// The code's flow, enforced: the model and what every target shares (infra/*.ts), then the
// generators (envoy-templates/, dashboards/, infra/observability/, infra/artifacts/ which
// gathers them, and infra/plan/, what every target deploys), then the targets (infra/docker/, infra/kubernetes/, infra/local/), then the
// program that picks one (infra/mesh-program.ts, index.ts), then the tools (tools/, scripts/).
// A folder imports only folders before it; a target never imports another target.
const TARGETS = ["docker", "kubernetes", "local"];
const noImport = (group, message) => ({ "no-restricted-imports": ["error", { patterns: [{ group, message }] }] });
const TOOLS = ["**/tools/*", "**/tools/**", "**/scripts/*", "**/test/*", "**/test/**"];
const targetFolders = (targets) => targets.flatMap((t) => [`**/${t}/*`, `**/${t}/**`]);

export default tseslint.config(
  { ignores: ["node_modules/", "**/dist/", "out/", ".tools/", ".mesh/", "test/golden/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    // The Pulumi rules need type information: they catch Outputs interpolated into strings.
    files: ["index.ts", "infra/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
    },
  },
  {
    files: ["index.ts", "infra/**/*.ts", "envoy-templates/**/*.ts", "dashboards/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: noImport(TOOLS, "the program, its generators and targets come before the tools and tests: nothing here imports them"),
  },
  {
    files: ["infra/*.ts"],
    ignores: ["infra/mesh-program.ts", "**/*.test.ts"],
    rules: noImport(
      [...TOOLS, ...targetFolders([...TARGETS, "observability", "artifacts", "envoy-templates", "dashboards"]), "**/mesh-program.js"],
      "the model and what every target shares come first: they import no generator, target, program or tool",
    ),
  },
  {
    files: ["envoy-templates/**/*.ts", "dashboards/**/*.ts", "infra/observability/**/*.ts", "infra/artifacts/**/*.ts", "infra/plan/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: noImport(
      [...TOOLS, ...targetFolders(TARGETS), "**/mesh-program.js"],
      "generators are target-neutral: a target hands them its addressing, they never import a target",
    ),
  },
  ...TARGETS.map((target) => ({
    files: [`infra/${target}/**/*.ts`],
    ignores: ["**/*.test.ts"],
    rules: noImport([...TOOLS, ...targetFolders(TARGETS.filter((t) => t !== target))], `a target never imports another target: move what infra/${target} shares into infra/`),
  })),
  {
    files: ["scripts/**/*.mjs", "eslint.config.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
