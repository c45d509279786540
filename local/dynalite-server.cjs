// Runs dynalite in its own process so the store and the CLI use separate cores.
// Reports its port to the parent over IPC and exits when the parent goes away (even if killed).
const dynalite = require("dynalite");
const options = JSON.parse(process.argv[2] || "{}");
const server = dynalite(options);
server.on("error", (err) => {
  process.send?.({ error: err.message });
  process.exit(1);
});
server.listen(0, "127.0.0.1", () => process.send?.({ port: server.address().port }));
let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  // Close the store cleanly when we can; never outlive the parent by more than a moment.
  setTimeout(() => process.exit(0), 1500).unref();
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
};
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("message", (m) => m === "stop" && shutdown());
