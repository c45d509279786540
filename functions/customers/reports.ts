import { phoneMark } from "#functions/campaign/decide.ts";
import { listCampaigns } from "#functions/campaign/record.ts";
import { contactStates, pagesOf, shardTasks } from "#functions/campaign/segment.ts";
import { localDay } from "#functions/campaign/time.ts";
import type { Customer } from "#functions/customers/record.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { countsAsContact, getTasks, taskIdOf } from "#functions/tasks/store.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { PRIMARY_SCHEME } from "#platform/config.ts";
import type { Repo } from "#platform/repo.ts";
import { batchGet } from "#platform/repo.ts";

/** What the reports read: the store and the tier config (the embedded runtime, or a handler's deps). */
export interface Store {
  repo: Repo;
  config: TiercastConfig;
  /** With it, the uncontactable list also shows numbers an RM reported wrong (`phone: "wrong_number"`). */
  secret?: string;
}

import { key } from "#platform/table.ts";

async function* customersOf(runtime: Store, scheme: string, tiers: string[]): AsyncGenerator<Customer> {
  for (const task of shardTasks(tiers, runtime.config.shards))
    for await (const page of pagesOf(runtime.repo, scheme, task, 1000)) yield* page;
}

/** Customers page by page, each with whether an RM reported their current phone number wrong. */
async function* withWrongPhones(runtime: Store, scheme: string, tiers: string[]) {
  for (const task of shardTasks(tiers, runtime.config.shards))
    for await (const page of pagesOf(runtime.repo, scheme, task, 1000)) {
      const { secret } = runtime;
      const states = secret ? await contactStates(runtime.repo, page) : new Map();
      for (const c of page) {
        const mark = states.get(c.customerId)?.wrongPhone;
        yield { c, wrongPhone: Boolean(secret && mark && c.phone && mark.h === phoneMark(secret, c.phone)) };
      }
    }
}

const contactStatus = (value: string | undefined, invalid: boolean | undefined) =>
  value ? "ok" : invalid ? "invalid" : "missing";

export const UNCONTACTABLE_COLUMNS = [
  "customerId",
  "branchId",
  "rmId",
  "tier",
  "phone",
  "email",
  "lostContact",
] as const;

/**
 * The information-governance list (000:642): customers who cannot be reached on a channel, never
 * silently dropped. `lostContact` marks those with neither a valid phone nor a valid email (the red list).
 */
export async function* uncontactable(runtime: Store, options: { branch?: string; lostOnly?: boolean }) {
  for (const scheme of Object.values(PRIMARY_SCHEME)) {
    const tiers = runtime.config.tierSchemes[scheme]?.tiers.map((t) => t.name) ?? [];
    for await (const { c, wrongPhone } of withWrongPhones(runtime, scheme, tiers)) {
      if (options.branch && c.branchId !== options.branch) continue;
      const phone = wrongPhone ? "wrong_number" : contactStatus(c.phone, c.phoneInvalid);
      const email = contactStatus(c.email, c.emailInvalid);
      const lostContact = phone !== "ok" && email !== "ok";
      if (phone === "ok" && email === "ok") continue;
      if (options.lostOnly && !lostContact) continue;
      yield {
        customerId: c.customerId,
        branchId: c.branchId ?? "",
        rmId: c.rmId ?? "",
        tier: c.tier,
        phone,
        email,
        lostContact,
      };
    }
  }
}

/**
 * Key customers without a completed maintenance contact in the month (DOMAIN.md: at least one per month).
 * A contact is a maintenance SMS or email sent, or an RM task closed with an outcome other than
 * no_answer / wrong_number in the month (CONTRACT.md): a task only created is not a contact.
 */
export async function keyNotContacted(runtime: Store, month: string, tier = "key") {
  const campaigns = (await listCampaigns(runtime.repo)).filter((c) => c.playbook === "key-maintenance");
  const byRm: Record<string, number> = {};
  const missing: { customerId: string; rmId: string; branchId: string }[] = [];
  let total = 0;
  let batch: Customer[] = [];
  const flush = async () => {
    const keys = batch.flatMap((c) =>
      campaigns.map((camp) => key.ledger(camp.campaignId, c.shard, c.customerId)),
    );
    const rows = (await batchGet(runtime.repo.ddb, runtime.repo.table, keys, 8)) as unknown as LedgerRow[];
    const inMonth = (at: string | undefined) =>
      Boolean(at && localDay(new Date(at), runtime.config.quietHours.timeZone).startsWith(month));
    const tasks = await getTasks(
      runtime.repo,
      batch.flatMap((c) => campaigns.map((camp) => taskIdOf(camp.campaignId, c.customerId))),
    );
    const contacted = new Set([
      ...rows
        .filter((r) => r.decision === "sent" && r.channel !== "rm-task" && inMonth(r.sentAt))
        .map((r) => r.customerId),
      ...tasks
        .filter((t) => t.status === "done" && countsAsContact(t.outcome) && inMonth(t.closedAt))
        .map((t) => t.customerId),
    ]);
    for (const c of batch) {
      if (contacted.has(c.customerId)) continue;
      missing.push({ customerId: c.customerId, rmId: c.rmId ?? "", branchId: c.branchId ?? "" });
      byRm[c.rmId ?? "(no RM)"] = (byRm[c.rmId ?? "(no RM)"] ?? 0) + 1;
    }
    batch = [];
  };
  for await (const c of customersOf(runtime, "retail", [tier])) {
    total++;
    batch.push(c);
    if (batch.length >= 100) await flush();
  }
  await flush();
  return {
    month,
    tier,
    campaigns: campaigns.map((c) => c.campaignId),
    customers: total,
    contacted: total - missing.length,
    notContacted: missing.length,
    byRm,
    missing,
  };
}

/**
 * RM books (000:640): every potential and quality customer must have an RM, and no book should exceed
 * the cap (`rm.bookCap`, 500–800 in the seeds). Reads every customer of the primary schemes once.
 */
export async function booksReport(
  runtime: Store,
  options: { branch?: string; cap?: number; mustHaveRm?: string[] } = {},
) {
  const cap = options.cap ?? runtime.config.rm.bookCap;
  const mustHaveRm = new Set(options.mustHaveRm ?? ["potential", "quality"]);
  const books = new Map<string, number>();
  const unassigned: { customerId: string; tier: string; branchId: string }[] = [];
  let customers = 0;
  for (const scheme of Object.values(PRIMARY_SCHEME)) {
    const tiers = runtime.config.tierSchemes[scheme]?.tiers.map((t) => t.name) ?? [];
    for await (const c of customersOf(runtime, scheme, tiers)) {
      if (options.branch && c.branchId !== options.branch) continue;
      customers++;
      if (c.rmId) books.set(c.rmId, (books.get(c.rmId) ?? 0) + 1);
      else if (mustHaveRm.has(c.tier))
        unassigned.push({ customerId: c.customerId, tier: c.tier, branchId: c.branchId ?? "" });
    }
  }
  const unassignedByTier: Record<string, number> = {};
  for (const u of unassigned) unassignedByTier[u.tier] = (unassignedByTier[u.tier] ?? 0) + 1;
  const overCap = [...books]
    .filter(([, n]) => n > cap)
    .map(([rmId, n]) => ({ rmId, customers: n, over: n - cap }))
    .sort((a, b) => b.customers - a.customers || a.rmId.localeCompare(b.rmId));
  return {
    cap,
    customers,
    rms: books.size,
    unassigned: unassigned.length,
    unassignedByTier,
    overCap,
    unassignedCustomers: unassigned.sort((a, b) => a.customerId.localeCompare(b.customerId)),
  };
}

/** Customers per branch and RM (no RM: `rmId` undefined), over the primary schemes: what indicators split by. */
export async function bookSizes(runtime: Store, options: { branch?: string } = {}) {
  const sizes = new Map<string, { branchId: string; rmId?: string; customers: number }>();
  for (const scheme of Object.values(PRIMARY_SCHEME)) {
    const tiers = runtime.config.tierSchemes[scheme]?.tiers.map((t) => t.name) ?? [];
    for await (const c of customersOf(runtime, scheme, tiers)) {
      if (!c.branchId || (options.branch && c.branchId !== options.branch)) continue;
      const k = `${c.branchId}\u0000${c.rmId ?? ""}`;
      const s = sizes.get(k) ?? { branchId: c.branchId, ...(c.rmId ? { rmId: c.rmId } : {}), customers: 0 };
      s.customers++;
      sizes.set(k, s);
    }
  }
  return [...sizes.values()];
}
