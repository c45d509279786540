// TransactWriteItems for the embedded dynalite (which has none), so the embedded runtime runs the same
// batched, all-or-nothing writes as DynamoDB. A transaction takes the per-item locks dynalite's own
// single-item writes take, for all its items (in one global order, so two transactions cannot
// deadlock), reads every item, judges every condition, and then either applies every write or none:
// a failed condition cancels the whole transaction with DynamoDB's TransactionCanceledException and
// its CancellationReasons, one per item in order. The writes themselves are dynalite's own PutItem,
// UpdateItem and DeleteItem actions (expressions, indexes and sizes exactly as for single writes),
// run under the locks already held. Where DynamoDB cancels a transaction that meets another on an
// item (TransactionConflict), this one waits for it: stricter, never weaker.
//
// Durability: like dynalite's single writes (an item and its index entries are separate LevelDB
// writes), the items of a transaction are written one after the other. The store process exits only
// once the requests it took have finished their writes (dynalite-server.cjs), so a killed runtime
// cannot cut one short; a killed store process can, as it can a single write.
const { crc32 } = require("node:zlib");
const { randomBytes } = require("node:crypto");
const db = require("dynalite/db");
const validations = require("dynalite/validations");

const OPS = {
  Put: { action: require("dynalite/actions/putItem"), validation: require("dynalite/validations/putItem") },
  Update: {
    action: require("dynalite/actions/updateItem"),
    validation: require("dynalite/validations/updateItem"),
  },
  Delete: {
    action: require("dynalite/actions/deleteItem"),
    validation: require("dynalite/validations/deleteItem"),
  },
  // A condition on an item that is not written: validated as an update without one.
  ConditionCheck: { validation: require("dynalite/validations/updateItem") },
};
const MAX_ITEMS = 100;
const TYPE = "com.amazonaws.dynamodb.v20120810#";

/**
 * Wraps dynalite's request handler: TransactWriteItems is answered here against `getStore()` (the
 * store dynalite created), everything else goes to dynalite.
 */
function withTransactions(getStore, handler) {
  return (req, res) => {
    if (!/\.TransactWriteItems$/.test(String(req.headers["x-amz-target"] ?? ""))) return handler(req, res);
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let data;
      try {
        data = JSON.parse(Buffer.concat(chunks).toString() || "{}");
      } catch {
        return send(res, 400, { __type: "com.amazon.coral.service#SerializationException" });
      }
      transactWrite(getStore(), data).then(
        (out) => send(res, 200, out),
        (err) => {
          if (err.statusCode) return send(res, err.statusCode, err.body);
          send(res, 500, { __type: `${TYPE}InternalServerError`, message: String(err.message ?? err) });
        },
      );
    });
  };
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("x-amzn-RequestId", randomBytes(39).toString("base64").toUpperCase().replace(/\+|\//g, "0"));
  res.setHeader("x-amz-crc32", crc32(text));
  res.setHeader("Content-Type", "application/x-amz-json-1.0");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(text);
}

const callback = (fn) =>
  new Promise((resolve, reject) => fn((err, out) => (err ? reject(err) : resolve(out))));

async function transactWrite(store, data) {
  const items = data.TransactItems;
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_ITEMS)
    throw db.validationError(
      `1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length between 1 and ${MAX_ITEMS}`,
    );
  const ops = [];
  for (const entry of items) {
    const kinds = Object.keys(entry ?? {}).filter((k) => OPS[k]);
    if (kinds.length !== 1)
      throw db.validationError("TransactItems can only contain one of Check, Put, Update or Delete");
    const kind = kinds[0];
    const spec = OPS[kind];
    const op = validations.checkTypes({ ...entry[kind] }, spec.validation.types);
    validations.checkValidations(op, spec.validation.types, spec.validation.custom, store);
    const table = await callback((cb) => store.getTable(op.TableName, cb));
    // What dynalite's own actions would refuse before writing anything, refused here before any item
    // is written. (Left to the actions: a type mismatch inside an update expression and the item size
    // limit; a transaction failing on those would stop part-way. Tiercast's writes never do.)
    const invalid =
      kind === "Put"
        ? db.validateItem(op.Item, table)
        : (db.validateKey(op.Key, table) ??
          (kind === "Update" ? db.validateUpdates(op.AttributeUpdates, op._updates, table) : undefined));
    if (invalid) throw invalid;
    const itemKey = db.createKey(kind === "Put" ? op.Item : op.Key, table);
    const returnOld = entry[kind].ReturnValuesOnConditionCheckFailure === "ALL_OLD";
    ops.push({ kind, spec, op, returnOld, lockKey: `${op.TableName}\u0000${itemKey}`, itemKey });
  }
  if (new Set(ops.map((o) => o.lockKey)).size !== ops.length)
    throw db.validationError("Transaction request cannot include multiple operations on one item");

  // Every item's lock, in one order for all transactions; released whatever happens next.
  const releases = [];
  try {
    for (const o of [...ops].sort((a, b) => (a.lockKey < b.lockKey ? -1 : 1))) {
      const itemDb = store.getItemDb(o.op.TableName);
      releases.push(await new Promise((resolve) => itemDb.lock(o.itemKey, (release) => resolve(release))));
    }
    const old = await Promise.all(
      ops.map(
        (o) =>
          new Promise((resolve, reject) =>
            store.getItemDb(o.op.TableName).get(o.itemKey, (err, item) => {
              if (err && err.name !== "NotFoundError") return reject(err);
              resolve(err ? undefined : item);
            }),
          ),
      ),
    );
    const failed = ops.map((o, i) => db.checkConditional(o.op, old[i]) != null);
    if (failed.some(Boolean)) {
      const reasons = ops.map((o, i) =>
        failed[i]
          ? {
              Code: "ConditionalCheckFailed",
              Message: "The conditional request failed",
              ...(o.returnOld && old[i] ? { Item: old[i] } : {}),
            }
          : { Code: "None" },
      );
      const err = new Error("transaction cancelled");
      err.statusCode = 400;
      err.body = {
        __type: `${TYPE}TransactionCanceledException`,
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(", ")}]`,
        CancellationReasons: reasons,
      };
      throw err;
    }
    // Under the locks held: dynalite's own write actions, with their item locks made pass-through.
    const held = heldLocks(store);
    for (const o of ops) {
      if (!o.spec.action) continue;
      await callback((cb) => o.spec.action(held, o.op, cb));
    }
    return {};
  } finally {
    for (const release of releases) release(() => {})();
  }
}

/** The store as seen by a write whose item lock the transaction already holds. */
function heldLocks(store) {
  return {
    ...store,
    getItemDb(name) {
      return { ...store.getItemDb(name), lock: (_key, fn) => fn((cb) => cb) };
    },
  };
}

module.exports = { withTransactions };
