import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = dirname(fileURLToPath(import.meta.url));

// Preact through esbuild's automatic JSX runtime: no framework plugin needed.
export default defineConfig({
  root,
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
  server: { host: "127.0.0.1", proxy: { "/api": "http://127.0.0.1:8787", "/t": "http://127.0.0.1:8787" } },
});
