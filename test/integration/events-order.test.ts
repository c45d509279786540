import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestRecords } from "#functions/events/core.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { rewardsOf } from "#functions/referrals/rewards.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

const AT = "2027-03-02T02:00:00.000Z";
const DRIVE = "referral-2027-spring";
let runtime: Runtime;
let referrers: LedgerRow[] = [];

// A bank's nightly events file lists a referee's account opening and then its first deposit. Ingestion
// runs a file's events concurrently; one customer's events must still be judged in the file's order, or
// the deposit is judged before the opening has linked the referee and the referrer's reward is lost.
describe("events of one customer are applied in the file's order", () => {
  beforeAll(async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    await startDispatch(runtime);
    await launchCampaign(
      runtime,
      readCampaignFile("examples/referral-drive.json", runtime.config),
      new Date(AT),
    );
    referrers = (await ledgerRows(runtime, DRIVE)).filter((r) => r.decision === "sent").slice(0, 12);
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it("credits every referrer when opening and deposit arrive in one file", async () => {
    expect(referrers.length).toBe(12);
    const events = referrers.flatMap((r, i) => [
      {
        eventId: `open-${i}`,
        type: "account_opened",
        customerId: `NEW-${i}`,
        at: "2027-03-03T02:00:00Z",
        referralCode: r.referralCode,
      },
      {
        eventId: `dep-${i}`,
        type: "deposit",
        customerId: `NEW-${i}`,
        at: "2027-03-04T02:00:00Z",
        amount: 10_000,
      },
    ]);
    const report = await ingestRecords(
      events.map((value, i) => ({ line: i + 1, value })),
      { repo: runtime.repo, shards: runtime.config.shards },
    );
    expect(report).toEqual({ accepted: events.length, duplicates: 0, rejected: [] });
    const rewards = await rewardsOf(runtime.repo, DRIVE);
    expect(rewards.map((r) => r.referrerId).sort()).toEqual(referrers.map((r) => r.customerId).sort());
  });
});
