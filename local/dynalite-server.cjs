// Runs dynalite in its own process so the store and the CLI use separate cores.
// Reports its port to the parent over IPC and exits when the parent goes away.
const dynalite = require("dynalite");
const options = JSON.parse(process.argv[2] || "{}");
const server = dynalite(options);
server.on("error", (err) => {
  process.send?.({ error: err.message });
  process.exit(1);
});
server.listen(0, "127.0.0.1", () => process.send?.({ port: server.address().port }));
const shutdown = () => server.close(() => process.exit(0));
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("message", (m) => m === "stop" && shutdown());
