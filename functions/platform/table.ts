/**
 * Single-table design. One definition serves the CDK stack and the embedded runtime's CreateTable,
 * so both always have the same keys and indexes. Access patterns are documented in docs/data-model.md.
 */
export const TABLE_KEYS = { partitionKey: "PK", sortKey: "SK" } as const;

export const GSIS = [
  // Customers by primary tier, write-sharded: TIER#<scheme>#<tier>#<shard> / customerId.
  { indexName: "GSI1", partitionKey: "GSI1PK", sortKey: "GSI1SK" },
  // Customers by card tier, write-sharded: TIER#card#<tier>#<shard> / customerId.
  { indexName: "GSI2", partitionKey: "GSI2PK", sortKey: "GSI2SK" },
  // Sparse work index for ledger rows: DUE#<shard> / <dueAt>#… (deferred), INFLIGHT#<campaign>#<shard> / customerId.
  { indexName: "GSI3", partitionKey: "GSI3PK", sortKey: "GSI3SK" },
  // Sparse care index on customers, write-sharded: BDAY#<MM-DD>#<shard> / customerId (only those with a birthday),
  // so a birthday segment reads the day's customers instead of paging whole tiers and filtering.
  { indexName: "GSI4", partitionKey: "GSI4PK", sortKey: "GSI4SK" },
  // Sample index on customers: SAMPLE#<primary scheme>#<tier>#<shard> / <sample hash>#customerId, so the first
  // entries of a tier shard are a deterministic random sample of it (the builder's estimate, issue 21).
  { indexName: "GSI5", partitionKey: "GSI5PK", sortKey: "GSI5SK" },
  // Care index on customers by their last activity day (UTC), write-sharded: ACTIVE#<YYYY-MM-DD>#<shard> /
  // customerId. The day is the later of opening and last transaction, so a segment "opened within H hours"
  // or "transacted within H hours" reads the window's days instead of paging whole tiers and filtering.
  { indexName: "GSI6", partitionKey: "GSI6PK", sortKey: "GSI6SK" },
] as const;

export const key = {
  customer: (customerId: string) => ({ PK: `CUST#${customerId}`, SK: "PROFILE" }),
  /** Opt-outs and recent marketing sends: kept apart from PROFILE so a re-import never erases them. */
  contactState: (customerId: string) => ({ PK: `CUST#${customerId}`, SK: "STATE" }),
  tierPartition: (scheme: string, tier: string, shard: number) => `TIER#${scheme}#${tier}#${shard}`,
  /** A primary tier shard in sample order (GSI5). */
  samplePartition: (scheme: string, tier: string, shard: number) => `SAMPLE#${scheme}#${tier}#${shard}`,
  /** Customers born on a month-day (MM-DD), write-sharded like the tier index. */
  birthdayPartition: (monthDay: string, shard: number) => `BDAY#${monthDay}#${shard}`,
  /** Customers whose last activity (opening or transaction) fell on a UTC day (YYYY-MM-DD), write-sharded. */
  activityPartition: (day: string, shard: number) => `ACTIVE#${day}#${shard}`,
  campaign: (campaignId: string) => ({ PK: `CAMP#${campaignId}`, SK: "META" }),
  campaignSummary: (campaignId: string) => ({ PK: `CAMP#${campaignId}`, SK: "SUMMARY" }),
  /** Ledger rows are sharded like the tier index so a 1M-recipient campaign never writes one hot partition. */
  ledgerPartition: (campaignId: string, shard: number) => `LEDGER#${campaignId}#${shard}`,
  ledger: (campaignId: string, shard: number, customerId: string) => ({
    PK: `LEDGER#${campaignId}#${shard}`,
    SK: customerId,
  }),
  duePartition: (shard: number) => `DUE#${shard}`,
  inflightPartition: (campaignId: string, shard: number) => `INFLIGHT#${campaignId}#${shard}`,
  event: (eventId: string) => ({ PK: `EVT#${eventId}`, SK: "EVENT" }),
  /** A campaign's counters, write-sharded over FUNNEL_PARTS partitions (part undefined: the pre-sharding one). */
  funnelPartition: (campaignId: string, part?: number) =>
    part === undefined ? `FUNNEL#${campaignId}` : `FUNNEL#${campaignId}#${part}`,
  /** A campaign's branch × RM performance counters, write-sharded like the funnel's. */
  perfPartition: (campaignId: string, part: number) => `PERF#${campaignId}#${part}`,
  /** A campaign's unique-event counters (opens, clicks, replies as they happened), write-sharded likewise. */
  uniquePartition: (campaignId: string, part: number) => `FUNNELU#${campaignId}#${part}`,
  /** That a recipient's first event of a kind was counted (one per campaign, recipient and kind). */
  uniqueMark: (campaignId: string, customerId: string, type: string) => ({
    PK: `UNIQUE#${campaignId}#${customerId}`,
    SK: type,
  }),
  referralCode: (code: string) => ({ PK: `REFCODE#${code}`, SK: "CODE" }),
  seat: (eventId: string) => ({ PK: `SALON#${eventId}`, SK: "SEATS" }),
  /** A release page's intent: the rows it is about to enqueue, until they are enqueued. */
  releaseIntent: (id: string) => ({ PK: "RELEASE#INTENTS", SK: id }),
  /** A resumed (or cancelled) campaign whose parked sends the next release wakes. */
  releaseWake: (campaignId: string) => ({ PK: "RELEASE#WAKE", SK: campaignId }),
  uncontactable: (branchId: string, customerId: string) => ({
    PK: `UNCONTACTABLE#${branchId}`,
    SK: customerId,
  }),
} as const;
