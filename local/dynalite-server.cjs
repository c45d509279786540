// Runs dynalite in its own process so the store and the CLI use separate cores.
// Reports its port to the parent over IPC and exits when the parent goes away (even if killed), once
// the requests it already took have finished their writes.
// dynalite opens LevelDB with its defaults (an 8 MB block cache). A bank of 100k+ customers outgrows
// that and every read goes to disk; give the store a cache sized for the working set.
const { ClassicLevel } = require("classic-level");
const open = ClassicLevel.prototype._open;
ClassicLevel.prototype._open = function (options) {
  return open.call(this, { ...options, cacheSize: 256 * 1024 * 1024, writeBufferSize: 32 * 1024 * 1024 });
};
const dynalite = require("dynalite");
const dynaliteDb = require("dynalite/db");
const { withTransactions } = require("./dynalite-transactions.cjs");
const options = JSON.parse(process.argv[2] || "{}");
// The store dynalite creates, kept for the transactions it has no action for (dynalite-transactions.cjs).
let store;
const create = dynaliteDb.create;
dynaliteDb.create = (o) => {
  store = create(o);
  return store;
};
const server = dynalite(options);
const [handler] = server.listeners("request");
server.removeAllListeners("request");
server.on(
  "request",
  withTransactions(() => store, handler),
);
server.on("error", (err) => {
  process.send?.({ error: err.message });
  process.exit(1);
});
// Requests being handled. dynalite writes an item's index entries and then the item itself as separate
// LevelDB writes: exiting between them (the parent killed mid-request) would leave an index that
// disagrees with its table for good (a row whose GSI entry is gone is invisible to every sweep). So
// the process exits only once every request it took has finished its writes.
let inflight = 0;
server.on("request", (_req, res) => {
  inflight++;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    inflight--;
  };
  const end = res.end.bind(res);
  res.end = (...args) => {
    finish();
    return end(...args);
  };
});
server.listen(0, "127.0.0.1", () => process.send?.({ port: server.address().port }));
let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  // No new connections; what was received runs to the end of its writes, then the store closes.
  server.close();
  const deadline = Date.now() + 10_000;
  const waitThenExit = () => {
    if (inflight > 0 && Date.now() < deadline) return setTimeout(waitThenExit, 5);
    process.exit(0);
  };
  waitThenExit();
};
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("message", (m) => m === "stop" && shutdown());
