// Runs dynalite in its own process so the store and the CLI use separate cores.
// Reports its port to the parent over IPC and exits when the parent goes away (even if killed).
// dynalite opens LevelDB with its defaults (an 8 MB block cache). A bank of 100k+ customers outgrows
// that and every read goes to disk; give the store a cache sized for the working set.
const { ClassicLevel } = require("classic-level");
const open = ClassicLevel.prototype._open;
ClassicLevel.prototype._open = function (options) {
  return open.call(this, { ...options, cacheSize: 256 * 1024 * 1024, writeBufferSize: 32 * 1024 * 1024 });
};
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
