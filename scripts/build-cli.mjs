// Compiles the CLI ahead of time (esbuild: ESM, one chunk per lazily imported command, npm packages
// left as imports), so `tiercast` starts without tsx compiling TypeScript at every run. Run by
// `npm ci` (prepare) and by bin/tiercast.mjs when a source changed since the last build.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "dist", "cli");
/** Which build is current and the sources it was made from (bin/tiercast.mjs checks their mtimes). */
export const META = join(OUT, "current.json");
const KEEP = 3; // builds kept: a CLI still running from an older one may yet import its chunks

/**
 * Sources keep their own import.meta.url and import.meta.dirname in the bundle: local/serve.ts finds
 * web/ and local/dynamo.ts forks dynalite-server.cjs relative to their own files.
 */
const ownLocation = {
  name: "own-location",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes("node_modules")) return undefined;
      const source = readFileSync(args.path, "utf8");
      if (!source.includes("import.meta.")) return { contents: source, loader: "ts" };
      return {
        loader: "ts",
        contents: source
          .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll("import.meta.dirname", JSON.stringify(dirname(args.path)))
          .replaceAll("import.meta.filename", JSON.stringify(args.path)),
      };
    });
  },
};

export async function buildCli() {
  const { build } = await import("esbuild");
  const startedAt = Date.now();
  // A directory per build, named once complete: CLIs started together (tests) may rebuild at once.
  const id = `${startedAt}-${process.pid}`;
  const dir = join(OUT, id);
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: "cli/main.ts" },
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "inline",
    metafile: true,
    logLevel: "error",
    plugins: [ownLocation],
  });
  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.includes("node_modules"));
  mkdirSync(OUT, { recursive: true });
  const tmp = `${META}.${id}.tmp`;
  writeFileSync(tmp, JSON.stringify({ id, startedAt, inputs: [...inputs, "package.json"] }));
  renameSync(tmp, META);
  const builds = readdirSync(OUT, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10));
  for (const old of builds.slice(KEEP)) rmSync(join(OUT, old), { recursive: true, force: true });
  return join(dir, "main.mjs");
}

/** The current build's entry, or undefined when there is none or a source is newer than it. */
export function freshBuild() {
  try {
    const meta = JSON.parse(readFileSync(META, "utf8"));
    for (const input of meta.inputs)
      if (statSync(join(ROOT, input)).mtimeMs >= meta.startedAt) return undefined;
    return join(OUT, meta.id, "main.mjs");
  } catch {
    return undefined;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const entry = await buildCli();
    process.stderr.write(`build-cli: ${relative(ROOT, entry)}\n`);
  } catch (err) {
    // `npm ci --omit=dev` has no esbuild: the bin then runs the sources through tsx.
    process.stderr.write(`build-cli: not built (${err.message}); tiercast will run through tsx\n`);
  }
}
