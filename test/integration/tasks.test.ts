import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyNotContacted } from "#functions/customers/reports.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

const BANK_AT = new Date("2027-02-28T00:00:00Z");
const AT = "2027-03-05T02:00:00.000Z";
let runtime: Runtime;

describe("RM tasks: key report", () => {
  beforeAll(async () => {
    runtime = await localBank(1_500, BANK_AT);
    setClock(runtime, AT);
    await startDispatch(runtime);
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it("does not count a key customer as contacted when an RM task is only created", async () => {
    const maintenance = readCampaignFile("examples/key-maintenance.json", runtime.config);
    await launchCampaign(runtime, maintenance, new Date(AT));
    const rows = (await ledgerRows(runtime, maintenance.campaignId)).filter(
      (r) => r.decision === "sent" && r.tier === "key",
    );
    const tasks = rows.filter((r) => r.channel === "rm-task").length;
    expect(tasks).toBeGreaterThan(0);
    const report = await keyNotContacted(runtime, "2027-03");
    // Only the SMS fallback reached anyone; a task nobody worked is not a contact.
    expect(report.contacted).toBe(rows.length - tasks);
  });
});
