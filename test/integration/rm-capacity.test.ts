import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
let runtime: Runtime;

describe("RM capacity per day", () => {
  beforeAll(async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"), { rm: { dailyTasksPerRm: 5 } });
    setClock(runtime, AT);
    await startDispatch(runtime);
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it("holds across campaigns: a second rm-task campaign the same day rolls to the RM's next free days", async () => {
    const base = readCampaignFile("examples/key-maintenance.json", runtime.config);
    const first = parseCampaign({ ...base, campaignId: "care-a" }, runtime.config);
    const second = parseCampaign({ ...base, campaignId: "care-b" }, runtime.config);
    await launchCampaign(runtime, first, new Date(AT));
    await launchCampaign(runtime, second, new Date(AT));
    const rows = [...(await ledgerRows(runtime, "care-a")), ...(await ledgerRows(runtime, "care-b"))].filter(
      (r) => r.channel === "rm-task" && (r.decision === "sent" || r.decision === "deferred"),
    );
    const today = new Map<string, number>();
    const byDay = new Map<string, number>();
    for (const r of rows) {
      const day = r.decision === "sent" ? "2027-03-01" : r.dueAt!.slice(0, 10);
      byDay.set(`${r.rmId}#${day}`, (byDay.get(`${r.rmId}#${day}`) ?? 0) + 1);
      if (r.decision === "sent") today.set(r.rmId!, (today.get(r.rmId!) ?? 0) + 1);
    }
    expect(today.size).toBeGreaterThan(0);
    for (const [rm, n] of today) expect(n, `${rm} today`).toBeLessThanOrEqual(5);
    for (const [rmDay, n] of byDay) expect(n, rmDay).toBeLessThanOrEqual(5);
  });
});
