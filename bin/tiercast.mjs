#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx so `npx tiercast` works right after `npm ci`.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const { register } = await import("tsx/esm/api");
register();
const { main } = await import("../cli/main.ts");
await main(process.argv);
