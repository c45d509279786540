/**
 * Store micro-benchmark (issue 21): the request shapes of the dispatch worker's claims, against any
 * DynamoDB endpoint, through the app's own client (documentClient: keep-alive, 64 sockets, 8 attempts).
 *
 *   npx tsx scripts/store-bench.ts --endpoint URL [--seconds N] [--concurrency C] [--json]
 *   npm run bench:store [-- --seconds N ...]      (starts the embedded dynalite and runs against it)
 *
 * Options: --only a,a-new,tx10,tx30,get30 (a subset), --recipients R (per worker, default 300), --stale K (every K-th transaction carries one
 * stale `ver`, so DynamoDB must cancel it: exercises the rollback path; 0 = never, the default).
 *
 * It creates its own table (PK/SK strings, one GSI shaped like the app's GSI3, on demand), seeds each
 * worker its own recipients (a ledger row, a contact item and an address item each), and runs, each for
 * N seconds at concurrency C:
 *   a      the claim: one conditional UpdateItem on an existing ledger row (SET several attributes and
 *          the GSI3 keys, ADD attempts, REMOVE; condition on its decision), ReturnValues ALL_NEW
 *   a-new  the same update on a fresh key, condition attribute_not_exists(PK)
 *   tx10   TransactWriteItems of 10 items: 5 recipients × {the ledger row conditional on its decision,
 *          the contact item conditional on `ver`}
 *   tx30   TransactWriteItems of 30 items: 10 recipients × {ledger row, contact item, address item
 *          conditional on `ver`}
 *   get30  BatchGetItem of 30 keys, ConsistentRead
 * Workers own disjoint recipients and track the expected decision and versions, so a cancellation is
 * the store's doing (or an injected stale version). At the end every seeded item is read back and
 * compared with what the workers expect: a lost or partial transaction shows as a mismatch.
 */
import { performance } from "node:perf_hooks";
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { LOCAL_AWS } from "#local/aws.ts";
import { documentClient } from "#platform/clients.ts";

interface Options {
  endpoint?: string;
  embedded: boolean;
  seconds: number;
  concurrency: number;
  json: boolean;
  only?: Set<string>;
  stale: number;
  recipients: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    embedded: false,
    seconds: 10,
    concurrency: 16,
    json: false,
    stale: 0,
    recipients: 300,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--endpoint") o.endpoint = next();
    else if (a === "--embedded") o.embedded = true;
    else if (a === "--seconds") o.seconds = Number(next());
    else if (a === "--concurrency") o.concurrency = Number(next());
    else if (a === "--json") o.json = true;
    else if (a === "--only") o.only = new Set(next().split(","));
    else if (a === "--stale") o.stale = Number(next());
    else if (a === "--recipients") o.recipients = Number(next());
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.endpoint && !o.embedded) throw new Error("give --endpoint URL (or --embedded)");
  if (!(o.seconds > 0) || !(o.concurrency >= 1))
    throw new Error("--seconds and --concurrency must be positive");
  return o;
}

// ---- the data ---------------------------------------------------------------------------------------

const CAMPAIGN = "bench-campaign";
const RECENT = Array.from({ length: 3 }, (_, i) => ({
  campaignId: `c${i}`,
  channel: "sms",
  at: "2026-12-01T08:00:00.000Z",
}));

/** What one worker's recipient looks like now, as the worker expects it. */
interface Recipient {
  customerId: string;
  shard: number;
  decision: "queued" | "claimed";
  contactVer: number;
  addressVer: number;
}

const ledgerKey = (r: Recipient) => ({ PK: `LEDGER#${CAMPAIGN}#${r.shard}`, SK: r.customerId });
const contactKey = (r: Recipient) => ({ PK: `CUST#${r.customerId}`, SK: "STATE" });
const addressKey = (r: Recipient) => ({ PK: `ADDR#sms#+8613${r.customerId.slice(-9)}`, SK: "STATE" });
const flip = (d: Recipient["decision"]) => (d === "queued" ? "claimed" : "queued");

function seedItems(r: Recipient) {
  return [
    {
      ...ledgerKey(r),
      campaignId: CAMPAIGN,
      customerId: r.customerId,
      shard: r.shard,
      channel: "sms",
      decision: r.decision,
      attempts: 0,
      at: "2026-12-01T08:00:00.000Z",
      tier: "gold",
      branchId: "BR-0042",
      body: "Dear customer, your gold-tier rate for December is ready. Reply STOP to opt out.",
    },
    { ...contactKey(r), ver: r.contactVer, recent: RECENT },
    { ...addressKey(r), ver: r.addressVer, recent: RECENT, customerId: r.customerId },
  ];
}

/** The claim, as functions/ledger/transitions.ts `claim` writes it (its condition on the decision). */
function claimUpdate(table: string, r: Recipient, now: Date) {
  const to = flip(r.decision);
  return {
    TableName: table,
    Key: ledgerKey(r),
    UpdateExpression:
      "SET decision = :to, claimToken = :t, leaseUntil = :lease, #at = :now, attemptedAt = :now, GSI3PK = :pk, GSI3SK = :sk ADD attempts :one REMOVE retryable",
    ConditionExpression: "attribute_exists(channel) AND decision = :from",
    ExpressionAttributeNames: { "#at": "at" },
    ExpressionAttributeValues: {
      ":from": r.decision,
      ":to": to,
      ":t": `tok-${r.customerId}-${now.getTime()}`,
      ":lease": new Date(now.getTime() + 60_000).toISOString(),
      ":now": now.toISOString(),
      ":one": 1,
      ":pk": `INFLIGHT#${CAMPAIGN}#${r.shard}`,
      ":sk": r.customerId,
    },
  };
}

function verUpdate(table: string, key: Record<string, string>, ver: number, stale: boolean) {
  return {
    TableName: table,
    Key: key,
    UpdateExpression: "SET recent = :recent, ver = :next",
    ConditionExpression: "ver = :ver",
    ExpressionAttributeValues: { ":recent": RECENT, ":next": ver + 1, ":ver": stale ? ver - 1 : ver },
  };
}

// ---- running ----------------------------------------------------------------------------------------

interface Result {
  name: string;
  what: string;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  itemsPerSecond?: number;
  /** What the requests' answers were, by outcome (committed, cancelled:<reasons>, conditionFailed, …). */
  outcomes: Record<string, number>;
  errors: number;
  p50ms: number;
  p99ms: number;
}

const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0;
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/**
 * Runs `op` on every worker in a loop for `seconds`; `op` names the outcome of its request (counted),
 * and a throw counts as an error.
 */
async function phase(
  name: string,
  what: string,
  o: Options,
  op: (worker: number) => Promise<string>,
): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const outcomes: Record<string, number> = {};
  const firstErrors: string[] = [];
  const started = performance.now();
  const deadline = started + o.seconds * 1000;
  await Promise.all(
    Array.from({ length: o.concurrency }, async (_, w) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          const k = await op(w);
          outcomes[k] = (outcomes[k] ?? 0) + 1;
        } catch (err) {
          errors++;
          if (firstErrors.length < 3) firstErrors.push(`${(err as Error).name}: ${(err as Error).message}`);
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  if (firstErrors.length) console.error(`${name}: ${errors} errors, first: ${firstErrors.join(" | ")}`);
  latencies.sort((a, b) => a - b);
  return {
    name,
    what,
    seconds: round(elapsed, 2),
    requests: latencies.length,
    requestsPerSecond: round(latencies.length / elapsed),
    outcomes,
    errors,
    p50ms: round(quantile(latencies, 0.5)),
    p99ms: round(quantile(latencies, 0.99)),
  };
}

async function createTable(raw: DynamoDBClient, table: string) {
  await raw.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: ["PK", "SK", "GSI3PK", "GSI3SK"].map((name) => ({
        AttributeName: name,
        AttributeType: "S",
      })),
      KeySchema: [
        { AttributeName: "PK", KeyType: "HASH" },
        { AttributeName: "SK", KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: "GSI3",
          KeySchema: [
            { AttributeName: "GSI3PK", KeyType: "HASH" },
            { AttributeName: "GSI3SK", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    }),
  );
  for (let i = 0; i < 600; i++) {
    const { Table } = await raw.send(new DescribeTableCommand({ TableName: table }));
    if (
      Table?.TableStatus === "ACTIVE" &&
      Table.GlobalSecondaryIndexes?.every((g) => g.IndexStatus === "ACTIVE")
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`table ${table} did not become active`);
}

async function batchWrite(ddb: DynamoDBDocumentClient, table: string, items: Record<string, unknown>[]) {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  while (pending.length) {
    const out = await ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
    pending = (out.UnprocessedItems?.[table] ?? []) as typeof pending;
  }
}

async function seed(ddb: DynamoDBDocumentClient, table: string, workers: Recipient[][]) {
  const items = workers.flat().flatMap(seedItems);
  const chunks: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < chunks.length) await batchWrite(ddb, table, chunks[next++]!);
    }),
  );
  return items.length;
}

/** Reads every seeded item back; counts those that disagree with what their worker expects. */
async function verify(ddb: DynamoDBDocumentClient, table: string, workers: Recipient[][]) {
  const all = workers.flat();
  let mismatched = 0;
  for (let i = 0; i < all.length; i += 33) {
    const group = all.slice(i, i + 33);
    const keys = group.flatMap((r) => [ledgerKey(r), contactKey(r), addressKey(r)]);
    const found = new Map<string, Record<string, unknown>>();
    let request: Record<string, unknown>[] | undefined = keys;
    while (request?.length) {
      const out = await ddb.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: request, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[table] ?? []) found.set(`${item.PK}|${item.SK}`, item);
      request = out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined;
    }
    const at = (k: { PK: string; SK: string }) => found.get(`${k.PK}|${k.SK}`);
    for (const r of group) {
      if (at(ledgerKey(r))?.decision !== r.decision) mismatched++;
      if (at(contactKey(r))?.ver !== r.contactVer) mismatched++;
      if (at(addressKey(r))?.ver !== r.addressVer) mismatched++;
    }
  }
  return mismatched;
}

const conditionFailed = (err: unknown) => (err as Error).name === "ConditionalCheckFailedException";

async function main() {
  const o = parseArgs(process.argv.slice(2));
  let stopStore: (() => Promise<void>) | undefined;
  let endpoint = o.endpoint;
  if (!endpoint) {
    const { startDynamo } = await import("#local/dynamo.ts");
    const t = performance.now();
    const store = await startDynamo(undefined);
    if (!o.json)
      console.log(`embedded dynalite at ${store.endpoint} (${Math.round(performance.now() - t)} ms)`);
    endpoint = store.endpoint;
    stopStore = () => store.stop();
  }
  const ddb = documentClient({ ...LOCAL_AWS, endpoint });
  const raw = ddb as unknown as DynamoDBClient;
  const table = `storebench-${Date.now()}`;
  const wants = (name: string) => !o.only || o.only.has(name);
  const results: Result[] = [];
  try {
    await createTable(raw, table);
    const workers: Recipient[][] = Array.from({ length: o.concurrency }, (_, w) =>
      Array.from({ length: o.recipients }, (_, i) => ({
        customerId: `C${String(w).padStart(3, "0")}${String(i).padStart(7, "0")}`,
        shard: i % 16,
        decision: "queued" as const,
        contactVer: 1,
        addressVer: 1,
      })),
    );
    const t = performance.now();
    const seeded = await seed(ddb, table, workers);
    if (!o.json)
      console.log(
        `seeded ${seeded} items in ${Math.round(performance.now() - t)} ms; ${o.seconds} s per phase at concurrency ${o.concurrency}`,
      );
    const cursor = workers.map(() => 0);
    /** A worker's next n recipients, round its own list (one worker never runs two requests at once). */
    const take = (w: number, n: number) => {
      const mine = workers[w]!;
      if (cursor[w]! + n > mine.length) cursor[w] = 0;
      const out = mine.slice(cursor[w]!, cursor[w]! + n);
      cursor[w] = cursor[w]! + n;
      return out;
    };
    if (wants("a"))
      results.push(
        await phase("a", "UpdateItem: claim an existing row (condition on its decision)", o, async (w) => {
          const [rec] = take(w, 1);
          try {
            await ddb.send(
              new UpdateCommand({ ...claimUpdate(table, rec!, new Date()), ReturnValues: "ALL_NEW" }),
            );
          } catch (err) {
            if (conditionFailed(err)) return "conditionFailed";
            throw err;
          }
          rec!.decision = flip(rec!.decision);
          return "ok";
        }),
      );
    if (wants("a-new")) {
      let fresh = 0;
      results.push(
        await phase("a-new", "UpdateItem: claim a fresh key (attribute_not_exists)", o, async (w) => {
          const n = fresh++;
          const rec: Recipient = {
            customerId: `N${String(w).padStart(3, "0")}${String(n).padStart(8, "0")}`,
            shard: n % 16,
            decision: "queued",
            contactVer: 0,
            addressVer: 0,
          };
          const { ":from": _from, ...values } = claimUpdate(table, rec, new Date()).ExpressionAttributeValues;
          try {
            await ddb.send(
              new UpdateCommand({
                ...claimUpdate(table, rec, new Date()),
                ConditionExpression: "attribute_not_exists(PK)",
                ExpressionAttributeValues: values,
                ReturnValues: "ALL_NEW",
              }),
            );
          } catch (err) {
            if (conditionFailed(err)) return "conditionFailed";
            throw err;
          }
          return "ok";
        }),
      );
    }
    let txCount = 0;
    // 10 items: 5 recipients × {ledger row, contact}; 30 items: 10 recipients × {ledger row, contact, address}.
    for (const [size, perTx, withAddress] of [
      [10, 5, false],
      [30, 10, true],
    ] as const) {
      const name = `tx${size}`;
      if (!wants(name)) continue;
      const what = `TransactWriteItems: ${perTx} recipients × {ledger row on decision, contact on ver${withAddress ? ", address on ver" : ""}}`;
      const r = await phase(name, what, o, async (w) => {
        const recs = take(w, perTx);
        const stale = o.stale > 0 && ++txCount % o.stale === 0;
        const now = new Date();
        const items = recs.flatMap((rec, i) => [
          { Update: claimUpdate(table, rec, now) },
          { Update: verUpdate(table, contactKey(rec), rec.contactVer, stale && i === recs.length - 1) },
          ...(withAddress ? [{ Update: verUpdate(table, addressKey(rec), rec.addressVer, false) }] : []),
        ]);
        try {
          await ddb.send(new TransactWriteCommand({ TransactItems: items }));
        } catch (err) {
          if ((err as Error).name !== "TransactionCanceledException") throw err;
          const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
          const codes = [...new Set(reasons.map((x) => x.Code).filter((c) => c && c !== "None"))];
          return `cancelled:${codes.join("+") || "unspecified"}`;
        }
        for (const rec of recs) {
          rec.decision = flip(rec.decision);
          rec.contactVer++;
          if (withAddress) rec.addressVer++;
        }
        return "committed";
      });
      results.push({ ...r, itemsPerSecond: round(((r.outcomes.committed ?? 0) * size) / r.seconds) });
    }
    if (wants("get30")) {
      const r = await phase("get30", "BatchGetItem: 30 keys, ConsistentRead", o, async (w) => {
        const keys = take(w, 10).flatMap((rec) => [ledgerKey(rec), contactKey(rec), addressKey(rec)]);
        const out = await ddb.send(
          new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
        );
        const got = out.Responses?.[table]?.length ?? 0;
        const left = out.UnprocessedKeys?.[table]?.Keys?.length ?? 0;
        if (got + left !== 30) throw new Error(`BatchGetItem answered ${got} of 30 keys`);
        return left ? "partial" : "ok";
      });
      results.push({ ...r, itemsPerSecond: round(((r.requests - r.errors) * 30) / r.seconds) });
    }
    const mismatched = await verify(ddb, table, workers);
    if (o.json)
      console.log(
        JSON.stringify(
          { endpoint, seconds: o.seconds, concurrency: o.concurrency, stale: o.stale, results, mismatched },
          null,
          2,
        ),
      );
    else printTable(results, mismatched);
    if (mismatched) process.exitCode = 1;
  } finally {
    await raw.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    ddb.destroy();
    await stopStore?.();
  }
}

function printTable(results: Result[], mismatched: number) {
  const others = (r: Result) =>
    Object.entries(r.outcomes)
      .filter(([k]) => k !== "ok" && k !== "committed")
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
  const rows = [
    ["phase", "req/s", "items/s", "p50 ms", "p99 ms", "requests", "errors", "not applied"],
    ...results.map((r) => [
      r.name,
      String(r.requestsPerSecond),
      r.itemsPerSecond === undefined ? "" : String(r.itemsPerSecond),
      String(r.p50ms),
      String(r.p99ms),
      String(r.requests),
      String(r.errors),
      others(r) || "0",
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    console.log(
      row.map((c, i) => (i === 0 || i === 7 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "),
    );
  for (const r of results) console.log(`  ${r.name}: ${r.what}`);
  console.log(
    mismatched
      ? `VERIFY FAILED: ${mismatched} items disagree with what the workers saw committed`
      : "verify: every seeded item is as the committed requests left it",
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
