import { GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { sampleSortKey, sampleUnit } from "#functions/campaign/sampling.ts";
import { type Customer, lastActivityDay, mergeHistory, type RmMove } from "#functions/customers/record.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { batchGet, batchWrite, conditional, type Item, mapLimit, type Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

// The customer record's owner: its item shape (tier, card and RM-book indexes) and its reads and writes.

/** GSI3 partition of an RM's book: their customers, by id (an upsert that changes rmId moves the customer). */
const bookPartition = (rmId: string) => `BOOK#${rmId}`;

export function customerItem(customer: Customer, updatedAt: string): Item {
  const cardTier = customer.cardTier ?? customer.cardEligible;
  const primary = customer.kind === "retail" ? "retail" : "corporate";
  const activeDay = lastActivityDay(customer);
  return {
    ...key.customer(customer.customerId),
    type: "customer",
    ...customer,
    updatedAt,
    GSI1PK: key.tierPartition(
      customer.kind === "retail" ? "retail" : "corporate",
      customer.tier,
      customer.shard,
    ),
    GSI1SK: customer.customerId,
    ...(cardTier
      ? { GSI2PK: key.tierPartition("card", cardTier, customer.shard), GSI2SK: customer.customerId }
      : {}),
    ...(customer.rmId ? { GSI3PK: bookPartition(customer.rmId), GSI3SK: customer.customerId } : {}),
    ...(customer.birthday
      ? {
          GSI4PK: key.birthdayPartition(customer.birthday.slice(5), customer.shard),
          GSI4SK: customer.customerId,
        }
      : {}),
    GSI5PK: key.samplePartition(primary, customer.tier, customer.shard),
    GSI5SK: sampleSortKey(customer.customerId),
    ...(activeDay
      ? { GSI6PK: key.activityPartition(activeDay, customer.shard), GSI6SK: customer.customerId }
      : {}),
  };
}

export function itemToCustomer(item: Item): Customer {
  const {
    PK: _pk,
    SK: _sk,
    type: _t,
    updatedAt: _u,
    GSI1PK: _1,
    GSI1SK: _2,
    GSI2PK: _3,
    GSI2SK: _4,
    GSI3PK: _5,
    GSI3SK: _6,
    GSI4PK: _7,
    GSI4SK: _8,
    GSI5PK: _9,
    GSI5SK: _10,
    GSI6PK: _11,
    GSI6SK: _12,
    ...rest
  } = item;
  return rest as unknown as Customer;
}

export function putCustomers(repo: Repo, customers: Customer[], updatedAt: string, concurrency = 4) {
  // Last row wins when one batch holds the same customer twice (BatchWrite refuses duplicate keys).
  const byId = new Map(customers.map((c) => [c.customerId, c]));
  const requests = [...byId.values()].map((c) => ({ PutRequest: { Item: customerItem(c, updatedAt) } }));
  return batchWrite(repo.ddb, repo.table, requests, concurrency);
}

/** What an upsert changed that a growth conversion may depend on: the stored record before, the new one after. */
export interface CustomerChange {
  before: Pick<Customer, "customerId" | "kind" | "tier" | "aum" | "cardTier" | "cardEligible">;
  after: Customer;
}

/**
 * The import's upsert: reads what is stored (in pages of 100), keeps its AUM history and adds this
 * import's month (`month`, YYYY-MM in the bank's time zone) at the new AUM, then writes the records.
 * Returns the customers that were already stored and whose tier, card or AUM moved.
 */
export async function upsertCustomers(
  repo: Repo,
  customers: Customer[],
  options: { updatedAt: string; month: string; concurrency?: number },
): Promise<CustomerChange[]> {
  const byId = new Map(customers.map((c) => [c.customerId, c]));
  const stored = await batchGet(
    repo.ddb,
    repo.table,
    [...byId.keys()].map(key.customer),
    options.concurrency ?? 4,
    false,
    // What the merge and the change need, not the whole profile.
    ["customerId", "kind", "tier", "aum", "cardTier", "cardEligible", "aumHistory", "rmHistory"],
  );
  const before = new Map(stored.map((item) => [String(item.customerId), item as unknown as Customer]));
  const changes: CustomerChange[] = [];
  const merged = [...byId.values()].map((customer) => {
    const old = before.get(customer.customerId);
    const next: Customer = {
      ...customer,
      aumHistory: mergeHistory(old?.aumHistory, customer.aumHistory, options.month, customer.aum),
      // The bank's file says who the RM is now; the handovers recorded here stay with the record.
      ...(old?.rmHistory?.length ? { rmHistory: old.rmHistory } : {}),
    };
    if (
      old &&
      (old.tier !== next.tier ||
        old.aum !== next.aum ||
        old.cardTier !== next.cardTier ||
        old.cardEligible !== next.cardEligible)
    )
      changes.push({
        before: {
          customerId: old.customerId,
          kind: old.kind,
          tier: old.tier,
          aum: old.aum,
          cardTier: old.cardTier,
          cardEligible: old.cardEligible,
        },
        after: next,
      });
    return next;
  });
  await putCustomers(repo, merged, options.updatedAt, options.concurrency);
  return changes;
}

export async function getCustomer(repo: Repo, customerId: string): Promise<Customer | undefined> {
  const out = await repo.ddb.send(new GetCommand({ TableName: repo.table, Key: key.customer(customerId) }));
  return out.Item ? itemToCustomer(out.Item) : undefined;
}

export async function getCustomers(repo: Repo, ids: string[]): Promise<Map<string, Customer>> {
  const items = await batchGet(repo.ddb, repo.table, ids.map(key.customer));
  return new Map(items.map((item) => [String(item.customerId), itemToCustomer(item)]));
}

/** One page of an RM's book (500–800 customers, 000:640), by customer id; the cursor is the last id. */
export async function bookPage(repo: Repo, rmId: string, after: string | undefined, limit: number) {
  const out = await repo.ddb.send(
    new QueryCommand({
      TableName: repo.table,
      IndexName: "GSI3",
      KeyConditionExpression: "GSI3PK = :pk",
      ExpressionAttributeValues: { ":pk": bookPartition(rmId) },
      Limit: limit,
      ...(after
        ? { ExclusiveStartKey: { ...key.customer(after), GSI3PK: bookPartition(rmId), GSI3SK: after } }
        : {}),
    }),
  );
  const customers = (out.Items ?? []).map(itemToCustomer);
  return { customers, next: out.LastEvaluatedKey ? String(out.LastEvaluatedKey.GSI3SK) : null };
}

/**
 * One page of the customers born on a month-day (MM-DD) in one shard, whatever their tier (the segment
 * filter checks the tier): the sparse care index, so a birthday segment never pages through whole tiers.
 */
export function birthdayPage(
  repo: Repo,
  monthDay: string,
  shard: number,
  cursor: string | undefined,
  limit: number,
) {
  return careIndexPage(repo, "GSI4", key.birthdayPartition(monthDay, shard), cursor, limit);
}

/**
 * One page of the customers whose last activity (opening or transaction) fell on a UTC day, in one
 * shard: the care index a recently-opened or recently-transacted segment reads, a day at a time.
 */
export function activityPage(
  repo: Repo,
  day: string,
  shard: number,
  cursor: string | undefined,
  limit: number,
) {
  return careIndexPage(repo, "GSI6", key.activityPartition(day, shard), cursor, limit);
}

async function careIndexPage(
  repo: Repo,
  index: "GSI4" | "GSI6",
  pk: string,
  cursor: string | undefined,
  limit: number,
) {
  const out = await repo.ddb.send(
    new QueryCommand({
      TableName: repo.table,
      IndexName: index,
      KeyConditionExpression: `${index}PK = :pk`,
      ExpressionAttributeValues: { ":pk": pk },
      Limit: limit,
      ...(cursor
        ? { ExclusiveStartKey: { [`${index}PK`]: pk, [`${index}SK`]: cursor, ...key.customer(cursor) } }
        : {}),
    }),
  );
  return {
    customers: (out.Items ?? []).map(itemToCustomer),
    cursor: out.LastEvaluatedKey?.[`${index}SK`] as string | undefined,
  };
}

/**
 * The first `limit` customers of a primary tier shard in sample order (the sample index, GSI5), each with
 * its sample value in [0, 1); `complete` when the shard has no more. One query, whatever the shard's size.
 */
export async function samplePage(repo: Repo, scheme: string, tier: string, shard: number, limit: number) {
  const out = await repo.ddb.send(
    new QueryCommand({
      TableName: repo.table,
      IndexName: "GSI5",
      KeyConditionExpression: "GSI5PK = :pk",
      ExpressionAttributeValues: { ":pk": key.samplePartition(scheme, tier, shard) },
      Limit: limit,
    }),
  );
  const items = (out.Items ?? []).map((item) => ({
    u: sampleUnit(String(item.GSI5SK)),
    item: itemToCustomer(item),
  }));
  // A page cut at 1 MB has a LastEvaluatedKey too: it counts as incomplete (its last value bounds the rate).
  return { items, complete: !out.LastEvaluatedKey };
}

/** The query of one tier shard: the card scheme's tiers are on GSI2, every other scheme's on GSI1. */
function tierShardQuery(repo: Repo, scheme: string, tier: string, shard: number) {
  const index = scheme === "card" ? "GSI2" : "GSI1";
  return {
    index,
    query: {
      TableName: repo.table,
      IndexName: index,
      KeyConditionExpression: `${index}PK = :pk`,
      ExpressionAttributeValues: { ":pk": key.tierPartition(scheme, tier, shard) },
    },
  };
}

/** One page of a tier shard. The cursor is the customerId to continue after (tiny, JSON-safe). */
export async function tierPage(
  repo: Repo,
  scheme: string,
  tier: string,
  shard: number,
  cursor: string | undefined,
  limit: number,
) {
  const { index, query } = tierShardQuery(repo, scheme, tier, shard);
  const out = await repo.ddb.send(
    new QueryCommand({
      ...query,
      Limit: limit,
      ...(cursor
        ? {
            ExclusiveStartKey: {
              [`${index}PK`]: key.tierPartition(scheme, tier, shard),
              [`${index}SK`]: cursor,
              ...key.customer(cursor),
            },
          }
        : {}),
    }),
  );
  const customers = (out.Items ?? []).map(itemToCustomer);
  const last = out.LastEvaluatedKey?.[`${index}SK`] as string | undefined;
  return { customers, cursor: last };
}

export async function countTier(
  repo: Repo,
  scheme: string,
  tier: string,
  config: Pick<TiercastConfig, "shards">,
): Promise<number> {
  const shards = Array.from({ length: config.shards }, (_, i) => i);
  const counts = await mapLimit(shards, 8, async (shard) => {
    let total = 0;
    let start: Item | undefined;
    do {
      const out = await repo.ddb.send(
        new QueryCommand({
          ...tierShardQuery(repo, scheme, tier, shard).query,
          Select: "COUNT",
          ExclusiveStartKey: start,
        }),
      );
      total += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return total;
  });
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * Erases the profile's personal data (PIPL): name, contact details, birthday and referral link; consent
 * off. What aggregates need (id, tier, branch) stays.
 */
export async function eraseProfile(repo: Repo, customerId: string, now: Date): Promise<void> {
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: key.customer(customerId),
      UpdateExpression:
        "REMOVE #name, phone, email, birthday, referredBy, familyAum, phoneInvalid, emailInvalid SET consentSms = :f, consentEmail = :f, forgottenAt = :now",
      ExpressionAttributeNames: { "#name": "name" },
      ExpressionAttributeValues: { ":f": false, ":now": now.toISOString() },
    }),
  );
}

/**
 * Puts a customer in an RM's book (000:640 rules B and C) if they still have no RM: conditional, so an
 * import or another run that gave them one meanwhile wins and this assignment is skipped (false). The
 * book index moves with the RM.
 */
export async function assignRm(
  repo: Repo,
  customerId: string,
  rmId: string,
  assigned: { at: string; rule: string },
): Promise<boolean> {
  return conditional(
    repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: key.customer(customerId),
        UpdateExpression:
          "SET rmId = :rm, GSI3PK = :book, GSI3SK = :id, rmAssignedAt = :at, rmAssignedBy = :rule",
        ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(rmId)",
        ExpressionAttributeValues: {
          ":rm": rmId,
          ":book": bookPartition(rmId),
          ":id": customerId,
          ":at": assigned.at,
          ":rule": assigned.rule,
        },
      }),
    ),
  );
}

/**
 * Moves a customer from one RM's book to another's (a handover when an RM leaves): conditional on the
 * customer still being in `move.from`'s book, so an import or another move meanwhile wins (false). The
 * book index moves with the RM, and the move is appended to the record's `rmHistory` (the old RM kept).
 */
export async function moveToRm(repo: Repo, customerId: string, move: RmMove): Promise<boolean> {
  return conditional(
    repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: key.customer(customerId),
        UpdateExpression:
          "SET rmId = :to, GSI3PK = :book, GSI3SK = :id, rmAssignedAt = :at, rmAssignedBy = :how, rmHistory = list_append(if_not_exists(rmHistory, :none), :move)",
        ConditionExpression: "rmId = :from",
        ExpressionAttributeValues: {
          ":to": move.to,
          ":from": move.from,
          ":book": bookPartition(move.to),
          ":id": customerId,
          ":at": move.at,
          ":how": "handover",
          ":none": [],
          ":move": [move],
        },
      }),
    ),
  );
}
