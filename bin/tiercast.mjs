#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx so `npx tiercast` works right after `npm ci`.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// The CLI prints results; handler logs (stderr) are for warnings unless asked for.
process.env.TIERCAST_LOG_LEVEL ??= "WARN";
// `tiercast ledger … | head` closes the pipe early: that is not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
const { register } = await import("tsx/esm/api");
register();
const { main } = await import("../cli/main.ts");
await main(process.argv);
