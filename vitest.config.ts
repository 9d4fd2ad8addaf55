import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real worker pools and tesseract instances are heavy; two files at a time fit 2 cores.
    maxWorkers: 2,
    minWorkers: 1
  }
})
