import { defineConfig } from "vitest/config";

export default defineConfig({
  // Bun imports migration files as text (`with { type: "text" }`); Vite needs to be told the same.
  plugins: [
    {
      name: "sql-as-text",
      enforce: "pre",
      transform: (code, id) => (id.endsWith(".sql") ? { code: `export default ${JSON.stringify(code)};`, map: null } : null),
    },
  ],
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Builds dist/parallama once per run, for the suites that drive the compiled binary.
    globalSetup: ["test/support/global-setup.ts"],
    // End-to-end suites start servers on real ports and share PostgreSQL and Redis; files run in parallel
    // processes, each using its own database and Redis prefix.
    pool: "forks",
    reporters: ["default"],
  },
});
