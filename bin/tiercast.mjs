#!/usr/bin/env node
// Entry point. Runs the CLI compiled ahead of time (dist/cli, built by `npm ci` and rebuilt here when a
// source is newer); without esbuild (`npm ci --omit=dev`) it runs the TypeScript through tsx.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// The CLI prints results; handler logs (stderr) are for warnings unless asked for.
process.env.TIERCAST_LOG_LEVEL ??= "WARN";
// `tiercast ledger … | head` closes the pipe early: that is not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

async function compiled() {
  if (process.env.TIERCAST_TSX === "1") return undefined; // run the sources as they are (debugging)
  const { buildCli, freshBuild } = await import("../scripts/build-cli.mjs");
  try {
    return freshBuild() ?? (await buildCli());
  } catch {
    return undefined;
  }
}

const entry = await compiled();
let main;
if (entry) ({ main } = await import(entry));
else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../cli/main.ts"));
}
await main(process.argv);
